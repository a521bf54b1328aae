// A second, non-smpplib SMSC for interop tests: built on node-smpp's server (npm `smpp`).
//
// It exists so our sender is not only ever tested against a peer that shares its PDU codec
// (bin_console.smsc_sim uses smpplib). Loopback only; no real secrets: credentials, when wanted,
// come from SMSC_SYSTEM_ID / SMSC_PASSWORD (unset = accept any bind).
//
// stdout carries one JSON object per line:
//   {"event":"listening","port":N}                      once, when ready
//   {"event":"submit","destination":..., "source":..., "data_coding":..., "esm_class":...,
//    "short_message":"<hex, raw incl. UDH>", "message_id":"<hex>", "registered_delivery":...}
//   {"event":"bind"|"unbind"|"receipt_ack", ...}
// Usage: node smsc.js [--port N]   (or SMSC_PORT=N; 0 = a free port)
'use strict';

const smpp = require('smpp');
const defs = require('smpp/lib/defs');

// Keep short_message as the raw bytes it arrived as: node-smpp would otherwise decode it with its
// own idea of data_coding 0 (ASCII) and split the UDH off, and we want to log exactly what came.
defs.filters.message.decode = function (value) {
  return value;
};

const argPort = process.argv.indexOf('--port');
const port = Number(argPort > 0 ? process.argv[argPort + 1] : process.env.SMSC_PORT || 2775);
const wantSystemId = process.env.SMSC_SYSTEM_ID || null;
const wantPassword = process.env.SMSC_PASSWORD || null;

let nextId = 0x20000;
const receivers = new Set(); // sessions bound as receiver or transceiver

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function stamp(d) {
  const p = (n) => String(n).padStart(2, '0');
  return p(d.getFullYear() % 100) + p(d.getMonth() + 1) + p(d.getDate()) + p(d.getHours()) + p(d.getMinutes());
}

function asString(v) {
  if (v === null || v === undefined) return '';
  return Buffer.isBuffer(v) ? v.toString('latin1') : String(v);
}

const server = smpp.createServer(function (session) {
  session.bound = null;

  session.on('error', function (err) {
    // a client that vanished must not take the SMSC down
    process.stderr.write('session error: ' + err.message + '\n');
  });
  session.on('close', function () {
    receivers.delete(session);
  });

  for (const mode of ['bind_transceiver', 'bind_transmitter', 'bind_receiver']) {
    session.on(mode, function (pdu) {
      if (session.bound) {
        session.send(pdu.response({ command_status: smpp.ESME_RALYBND }));
        return;
      }
      if (wantSystemId !== null && pdu.system_id !== wantSystemId) {
        session.send(pdu.response({ command_status: smpp.ESME_RINVSYSID }));
        return;
      }
      if (wantPassword !== null && pdu.password !== wantPassword) {
        session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
        return;
      }
      session.bound = mode;
      session.send(pdu.response({ system_id: 'node-smsc' }));
      if (mode !== 'bind_transmitter') receivers.add(session);
      emit({ event: 'bind', mode: mode, system_id: pdu.system_id });
    });
  }

  session.on('enquire_link', function (pdu) {
    session.send(pdu.response());
  });

  session.on('unbind', function (pdu) {
    session.send(pdu.response());
    emit({ event: 'unbind' });
    session.close();
  });

  session.on('submit_sm', function (pdu) {
    if (session.bound !== 'bind_transceiver' && session.bound !== 'bind_transmitter') {
      session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
      return;
    }
    const id = (nextId++).toString(16);
    const sm = Buffer.isBuffer(pdu.short_message) ? pdu.short_message : Buffer.alloc(0);
    const payload = sm.length ? sm : Buffer.isBuffer(pdu.message_payload) ? pdu.message_payload : Buffer.alloc(0);
    session.send(pdu.response({ message_id: id }));
    emit({
      event: 'submit',
      destination: asString(pdu.destination_addr),
      source: asString(pdu.source_addr),
      data_coding: pdu.data_coding,
      esm_class: pdu.esm_class,
      short_message: payload.toString('hex'),
      message_id: id,
      registered_delivery: pdu.registered_delivery,
    });
    if ((pdu.registered_delivery & 0x03) === 1) {
      const now = stamp(new Date());
      const text =
        'id:' + id + ' sub:001 dlvrd:001 submit date:' + now + ' done date:' + now + ' stat:DELIVRD err:000 text:';
      const target = receivers.has(session) ? session : receivers.values().next().value;
      if (!target) return; // no receiver bound: this simple peer drops the receipt
      target.deliver_sm(
        {
          source_addr: pdu.destination_addr,
          source_addr_ton: pdu.dest_addr_ton,
          source_addr_npi: pdu.dest_addr_npi,
          destination_addr: pdu.source_addr,
          dest_addr_ton: pdu.source_addr_ton,
          dest_addr_npi: pdu.source_addr_npi,
          esm_class: 0x04,
          data_coding: 0,
          short_message: Buffer.from(text, 'latin1'),
          receipted_message_id: id,
          message_state: 2,
        },
        function (resp) {
          emit({ event: 'receipt_ack', message_id: id, status: resp.command_status });
        },
      );
    }
  });

  session.on('unknown', function (pdu) {
    session.send(new smpp.PDU('generic_nack', { sequence_number: pdu.sequence_number, command_status: smpp.ESME_RINVCMDID }));
  });
});

server.on('error', function (err) {
  process.stderr.write('server error: ' + err.message + '\n');
  process.exit(1);
});

server.listen(port, '127.0.0.1', function () {
  emit({ event: 'listening', port: server.address().port });
});

function shutdown() {
  server.close();
  for (const s of server.sessions.slice()) s.destroy();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
