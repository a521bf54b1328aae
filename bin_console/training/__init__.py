"""Training servers on loopback (SMSC and mail): the demo and the tests send to these, never to the real world."""
