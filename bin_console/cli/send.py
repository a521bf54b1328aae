"""Headless alerts: `bin-console send`, `bin-console alerts show ID`, `bin-console alerts list`.

`send` prints the plan, refuses without --yes (exit 2, nothing written), writes the alert and its outbox
rows (alerts.create_alert), then sends through a running `bin-console sender` service when one is bound
for this database (fresh heartbeat), else through an embedded SenderRunner. Exit codes: 0 every reachable
recipient accepted (with --wait: receipts in or expiry passed, none failed), 1 some failed, 2 bad input /
nothing sent, 3 timeout, 78 no credentials store / bad config.
Untrusted text (names, alert texts) is printed through textsafe.clean: no escape sequence reaches a tty.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from bin_console import labels
from bin_console.alerts import service as alerts
from bin_console.data.models import Network, PoliceZone, SenderStatus, utcnow
from bin_console.i18n import _, ngettext
from bin_console.trust.actor import Actor
from bin_console.trust.textsafe import check_alert_text, clean

EX_CONFIG = 78
SENDER_FRESH_S = 10.0
POLL_S = 0.05
PROGRESS_S = 0.25
_SHOW_FAILURES = 20


class _Refused(Exception):
    """Bad input: message for stderr, exit 2, nothing written."""


def _err(msg: str) -> None:
    print(f"bin-console: {msg}", file=sys.stderr)


# --- input --------------------------------------------------------------------------------------


def _zone_id(session, settings) -> int | None:
    if not settings.zone:
        return None
    zid = session.scalar(select(col(PoliceZone.id)).where(col(PoliceZone.code) == settings.zone))
    if zid is None:
        raise _Refused(
            _("police zone {zone} (console.zone in the config) does not exist").format(zone=repr(settings.zone))
        )
    return zid


def resolve_networks(db, names: list[str], settings) -> list[Network]:
    """Networks by (folded) name; an unknown or ambiguous name is refused with the reason."""
    from bin_console.data.networks import find_networks, suggest_networks

    out: list[Network] = []
    with db.read() as s:
        zid = _zone_id(s, settings)
        for name in names:
            found = find_networks(s, name)
            if zid is not None:
                found = [n for n in found if n.zone_id == zid]
            if not found:
                meant = suggest_networks(s, name, zone_id=zid)
                if meant:
                    raise _Refused(
                        _("no network {name}; did you mean {names}?").format(
                            name=clean(name), names=_(" or ").join(_quoted(m) for m in meant)
                        )
                    )
                raise _Refused(
                    _("no network named {name}; try `bin-console networks search {name}`").format(name=repr(name))
                )
            if len(found) > 1:
                codes = ", ".join(
                    s.scalar(select(col(PoliceZone.code)).where(col(PoliceZone.id) == n.zone_id)) or "?" for n in found
                )
                raise _Refused(
                    _("{n} networks are named {name} (zones {codes}); set console.zone").format(
                        n=len(found), name=repr(name), codes=codes
                    )
                )
            if found[0].id not in {n.id for n in out}:
                out.append(found[0])
    return out


def _quoted(name: str) -> str:
    return '"' + clean(name) + '"'


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in pairs:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise _Refused(_("--set {item}: expected NAME=VALUE").format(item=repr(item)))
        values[key.strip()] = value
    return values


def _given_texts(args) -> dict[str, str]:
    """--text-nl/--text-fr/--text-de/--text-en as language -> text (only those given)."""
    given = {"nl": args.text_nl, "fr": args.text_fr, "de": args.text_de, "en": args.text_en}
    return {lang: t for lang, t in given.items() if t is not None}


def compose_texts(db, args, settings) -> tuple[dict[str, str], str | None]:
    """(texts, template key): {"": text} for one text to all (--text, --template --lang), else
    language -> text (--text-XX, or --template in every language it has), after --gsm-safe."""
    template_key = None
    given = _given_texts(args)
    chosen = [o for o, used in (("--text", args.text is not None), ("--template", bool(args.template))) if used]
    if given:
        chosen.append("--text-" + "/".join(given))
    if len(chosen) != 1:
        raise _Refused(_("give one of --text, --template or --text-nl/--text-fr/--text-de/--text-en"))
    if args.combined and not given:
        raise _Refused(_("--combined joins --text-nl and --text-fr"))
    if args.template:
        template_key = args.template
        values = _parse_sets(args.set)
        try:
            if args.lang:
                texts = {"": alerts.render_template(db, args.template, args.lang, values)}
            else:
                texts = alerts.render_versions(db, args.template, values)
        except ValueError as exc:
            raise _Refused(str(exc)) from None
        missing = list(dict.fromkeys(m for t in texts.values() for m in alerts.placeholders(t)))
        if missing:
            hint = " ".join(f"--set {m}=..." for m in missing)
            raise _Refused(
                _("template {key} still has placeholders {missing}; pass {hint}").format(
                    key=repr(args.template), missing=missing, hint=hint
                )
            )
    else:
        if args.set:
            raise _Refused(_("--set only applies to --template"))
        texts = given or {"": args.text}
    if args.gsm_safe:
        from bin_console.channels.smpp.encoding import gsm_safe

        texts = {lang: gsm_safe(t) for lang, t in texts.items()}
    if not any(t.strip() for t in texts.values()):
        raise _Refused(_("the alert text is empty"))
    try:
        # create_alert checks again; here it is refused before the plan and the keyring
        if "" in texts:
            check_alert_text(texts[""])
        else:
            alerts.alert_texts(texts, combined=args.combined)
    except ValueError as exc:
        raise _Refused(_("{error}; nothing sent").format(error=exc)) from None
    return texts, template_key


# --- plan ---------------------------------------------------------------------------------------


def print_plan(vp: alerts.VersionPlan, settings=None) -> None:
    plan, email_copies = vp.plan, vp.email_copies
    channel = _("SMS") if plan.channel == "sms" else _("e-mail")
    print(_("Channel: {channel}").format(channel=channel))
    for _nid, name, n in plan.per_network:
        print("  " + ngettext("{name}: {n} recipient(s)", "{name}: {n} recipient(s)", n).format(name=clean(name), n=n))
    print(_("Recipients: {n}").format(n=plan.recipients))
    reasons = labels.skip_reasons(plan.channel, plan)
    skipped = _("Skipped: {n} ({reasons})") if reasons else _("Skipped: {n}")
    print(skipped.format(n=plan.skipped, reasons=reasons))
    if len(vp.versions) == 1 and not vp.versions[0].language:
        v = vp.versions[0]
        if plan.channel == "sms":
            print(_("Encoding: {encoding}, {length}").format(encoding=v.encoding.upper(), length=_sms_length(v)))
    else:
        print(_("Versions:"))
        for v in vp.versions:
            members = ngettext("{n} member(s)", "{n} member(s)", v.members).format(n=v.members)
            if plan.channel == "sms":
                line = _("{language}: {members}, {encoding}, {length}").format(
                    language=v.language, members=members, encoding=v.encoding.upper(), length=_sms_length(v)
                )
            else:
                line = _("{language}: {members}").format(language=v.language, members=members)
            print("  " + line)
    if plan.channel == "sms":
        print(_("Total SMS parts: {n}").format(n=vp.total_parts))
    if email_copies:
        print(_("E-mail copy for members without a mobile: {n}").format(n=email_copies))
    emails = email_copies if plan.channel == "sms" else plan.recipients
    if emails and settings is not None:
        from bin_console.channels.email.eta import email_eta

        eta = email_eta(emails, settings.smtp)
        if settings.smtp.max_per_minute:
            line = _("E-mail time to finish: about {time} at {rate}/min").format(
                time=_minutes(eta), rate=settings.smtp.max_per_minute
            )
        else:
            line = _("E-mail time to finish: about {time}").format(time=_minutes(eta))
        print(line)


def _sms_length(v) -> str:
    """'42 characters, 1 part(s) per SMS' (one language version of the text)."""
    characters = ngettext("{n} characters", "{n} characters", len(v.text)).format(n=len(v.text))
    parts = ngettext("{n} part(s) per SMS", "{n} part(s) per SMS", v.parts_per_sms).format(n=v.parts_per_sms)
    return f"{characters}, {parts}"


def _minutes(td: timedelta) -> str:
    total = int(td.total_seconds())
    if total < 60:
        return _("{s} s").format(s=total)
    h, m = divmod(round(total / 60), 60)
    return _("{h} h {m} min").format(h=h, m=f"{m:02d}") if h else _("{m} min").format(m=m)


# --- sending ------------------------------------------------------------------------------------


def sender_service_bound(db, account: str = "default") -> bool:
    """A `bin-console sender` (or another console's embedded one) is alive for this database."""
    with db.read() as s:
        st = s.get(SenderStatus, account)
    if st is None or st.state in ("stopped", "config_error"):
        return False
    return utcnow() - st.updated_at < timedelta(seconds=SENDER_FRESH_S)


def _progress_line(p: alerts.AlertProgress, wait: bool) -> str:
    width = 30
    total = max(p.total, 1)
    finished = p.total - sum(p.counts.get(k, 0) for k in ("queued", "submitting"))
    if wait:
        finished -= p.counts.get("submitted", 0)
    filled = int(width * finished / total)
    bar = "#" * filled + "." * (width - filled)
    counts = _("accepted {accepted}, delivered {delivered}, failed {failed}").format(
        accepted=p.accepted, delivered=p.counts.get("delivered", 0), failed=p.failed
    )
    return f"\r[{bar}] {finished}/{p.total} {counts}   "


def _finished(p: alerts.AlertProgress, wait: bool) -> bool:
    if not p.done:
        return False
    if not wait or not p.counts.get("submitted"):
        return True
    exp = p.alert.expires_at
    return exp is not None and utcnow() >= exp


def wait_for_alert(
    db, alert_id: int, *, wait: bool, timeout: float | None, tty: bool
) -> tuple[alerts.AlertProgress, bool]:
    """Poll until finished or the deadline; returns (last progress, timed_out). No fixed sleeps elsewhere.

    While rows are open only their count is polled (an index read, every POLL_S, so the end is seen
    at once); the whole progress, which reads every row and competes with an embedded sender for
    the CPU, only for the tty's progress line (every PROGRESS_S) and once nothing is open."""
    now = time.monotonic()
    deadline = None if timeout is None else now + timeout
    next_line = now
    while True:
        now = time.monotonic()
        show = tty and now >= next_line
        p = None
        if show or alerts.open_deliveries(db, alert_id) == 0:
            p = alerts.alert_progress(db, alert_id)
            if tty:
                next_line = now + PROGRESS_S
                sys.stderr.write(_progress_line(p, wait))
                sys.stderr.flush()
            if _finished(p, wait):
                return p, False
        if deadline is not None and now >= deadline:
            return p or alerts.alert_progress(db, alert_id), True
        time.sleep(POLL_S if p is None or not p.done else PROGRESS_S)


def print_summary(p: alerts.AlertProgress) -> None:
    order = ("queued", "submitting", "submitted", "delivered", "undeliverable", "expired", "rejected", "failed")
    counts = ", ".join(f"{labels.state_label(k)} {p.counts[k]}" for k in (*order, "cancelled") if p.counts.get(k))
    heading = ngettext("Alert {id}: {n} recipient(s): {counts}", "Alert {id}: {n} recipient(s): {counts}", p.total)
    print(heading.format(id=p.alert.id, n=p.total, counts=counts or _("none")))
    if len(p.by_channel) > 1 or "email" in p.by_channel:
        for channel in sorted(p.by_channel):
            per = ", ".join(f"{labels.state_label(k)} {n}" for k, n in sorted(p.by_channel[channel].items()))
            print(f"  {_('SMS') if channel == 'sms' else _('e-mail')}: {per}")
    if "sms" in p.by_channel:
        print(_("SMS parts accepted: {acked}/{total}").format(acked=p.parts_acked, total=p.parts_total))
    if p.possible_duplicates:
        print(_("Possibly sent twice (re-sent after a lost link): {n}").format(n=p.possible_duplicates))
    if p.failures:
        print(_("Failures:"))
        for name, addr, state, reason in p.failures[:_SHOW_FAILURES]:
            print(f"  {clean(name)}  {addr}  {labels.state_label(state)}: {clean(reason)}")
        more = p.failed - min(len(p.failures), _SHOW_FAILURES)
        if more > 0:
            print("  " + _("... and {n} more (bin-console alerts show {id})").format(n=more, id=p.alert.id))


def _start_embedded(db, settings):
    """An embedded SenderRunner, or raise _Refused / CredentialStoreUnavailable before anything is written."""
    from bin_console.trust.credentials import CredentialStoreUnavailable, get_secret

    try:
        from bin_console.channels.smpp.sender import SenderRunner
    except ImportError:
        raise _Refused(_("the SMS sender is not available in this build; start `bin-console sender`")) from None
    try:
        password = get_secret("smpp", settings, required=not settings.smpp.training)
    except CredentialStoreUnavailable:
        if not settings.smpp.training:
            raise
        password = None
    except LookupError as exc:
        raise _Refused(str(exc)) from None
    return SenderRunner(db, settings.smpp, password=password)


def _start_embedded_email(db, settings):
    """An embedded e-mail sender; the relay password only when the relay wants a login."""
    from bin_console.channels.email.driver import EmailSender
    from bin_console.trust.credentials import get_secret

    password = None
    if settings.smtp.username and not settings.smtp.training:
        try:
            password = get_secret("smtp", settings)
        except LookupError as exc:
            raise _Refused(str(exc)) from None
    return EmailSender(db, settings.smtp, password=password)


def _targets(db, args, settings, urgency: str) -> tuple[list[int], str]:
    """(network ids, urgency): the --network list, or for --follow-up the original's networks and channel."""
    if args.follow_up is None:
        if args.email:
            raise _Refused(_("--email is for a --follow-up (a new alert: --normal sends it by e-mail)"))
        if not args.network:
            raise _Refused(_("name the target with --network (or --follow-up ID)"))
        nets = resolve_networks(db, args.network, settings)
        inactive = [f"{clean(n.name)} ({n.status})" for n in nets if n.status != "active"]
        if inactive:
            raise _Refused(
                ngettext("inactive network(s): {names}", "inactive network(s): {names}", len(inactive)).format(
                    names=", ".join(inactive)
                )
            )
        network_ids: list[int] = []
        for n in nets:
            assert n.id is not None  # a stored network
            network_ids.append(n.id)
        return network_ids, urgency
    if args.network or args.normal:
        raise _Refused(
            _("a --follow-up goes to the original's members by its channel (or --email); drop --network/--normal")
        )
    try:
        return alerts.follow_up_networks(db, args.follow_up), alerts.follow_up_urgency(
            db, args.follow_up, by_email=args.email
        )
    except ValueError as exc:
        raise _Refused(str(exc)) from None


def cmd_send(args, settings) -> int:
    from bin_console.cli.runtime import open_db_or_exit
    from bin_console.trust.credentials import CredentialStoreUnavailable

    urgency = "normal" if args.normal else "urgent"
    if args.expires is not None and args.expires <= 0:
        _err(_("--expires must be a positive number of minutes"))
        return 2
    if args.timeout is not None and args.timeout <= 0:
        _err(_("--timeout must be a positive number of seconds"))
        return 2
    db = open_db_or_exit(settings)
    runner = email_runner = None
    started = False
    try:
        try:
            net_ids, urgency = _targets(db, args, settings, urgency)
            texts, template_key = compose_texts(db, args, settings)
            copy = bool(args.email_copy)
            if copy and urgency != "urgent":
                raise _Refused(_("--email-copy is for urgent alerts (a non-urgent one goes by e-mail already)"))
            use_service = urgency == "urgent" and sender_service_bound(db)
            if args.yes and urgency == "urgent" and not use_service:
                # Confirmed on the command line: the credential is read now, before the plan is
                # printed, so a keyring passphrase prompt never lands inside that output; the
                # sender starts once the plan has not refused (a start recovers rows, binds and
                # sends whatever is queued: nothing of that before a refusal).
                runner = _start_embedded(db, settings)
            vp = alerts.plan_versions(
                db,
                net_ids,
                texts,
                urgency=urgency,
                default_language=settings.language,
                combined=args.combined,
                email_copy=copy,
                follow_up_of=args.follow_up,
                by_email=args.email,
            )
            plan, copies = vp.plan, vp.email_copies
            print_plan(vp, settings)
            if plan.recipients == 0 and not copies:
                raise _Refused(_("no reachable recipient: nothing to send"))
            if not args.yes:
                raise _Refused(_("not sent: add --yes to confirm (nothing was written)"))
            if runner is not None:
                # connect and bind while the rows are written: it claims them the moment they
                # commit (issue 8: the whole `send` against the bare loop)
                runner.start()
                started = True
            email_needed = urgency == "normal" or copies > 0
            email_service = email_needed and sender_service_bound(db, "email")
            if email_needed and not email_service:
                email_runner = _start_embedded_email(db, settings)
            expires = args.expires
            if expires is None and urgency == "urgent":
                expires = settings.alert_expiry_minutes
            alert_id = alerts.create_alert(
                db,
                network_ids=net_ids,
                text=texts.get("", ""),
                texts=None if "" in texts else texts,
                combined=args.combined,
                default_language=settings.language,
                follow_up_of=args.follow_up,
                by_email=args.email,
                urgency=urgency,
                actor=Actor.current(),
                template_key=template_key,
                expires_minutes=expires,
                sender=None,
                training=settings.smpp.training if urgency == "urgent" else settings.smtp.training,
                email_copy=copy,
            )
        except _Refused as exc:
            _err(str(exc))
            return 2
        except ValueError as exc:
            _err(_("{error}; nothing sent").format(error=exc))
            return 2
        except CredentialStoreUnavailable as exc:
            _err(_("{error} Nothing was written.").format(error=exc))
            return EX_CONFIG
        queued = ngettext(
            "Alert {id} queued ({n} recipient(s)).", "Alert {id} queued ({n} recipient(s)).", plan.recipients
        )
        print(queued.format(id=alert_id, n=plan.recipients))
        if urgency == "urgent":
            if use_service:
                print(_("Sending through the running `bin-console sender` service."))
            else:
                assert runner is not None  # made and started above when no service sends
                runner.wake()
                print(_("Sending (embedded sender)."))
        if email_needed:
            if email_service:
                print(_("E-mail through the running `bin-console sender` service."))
            else:
                assert email_runner is not None  # made above when no service sends
                email_runner.start()
                print(_("Sending e-mail (embedded e-mail sender)."))
        timeout = args.timeout
        if timeout is None and expires:
            timeout = expires * 60 + 30  # the sender expires unsent rows by then; never hang past it
        if timeout is None and email_needed:
            from bin_console.channels.email.eta import email_eta

            # greylisting retries come on top of the rate limit; a headless run must end some time
            timeout = email_eta(plan.recipients + copies, settings.smtp).total_seconds() * 2 + 900
        tty = sys.stderr.isatty()
        try:
            p, timed_out = wait_for_alert(db, alert_id, wait=args.wait, timeout=timeout, tty=tty)
        except KeyboardInterrupt:
            if tty:
                sys.stderr.write("\n")
            _err(
                _("interrupted: alert {id} stays queued; `bin-console alerts show {id}` follows it").format(id=alert_id)
            )
            return 130
        if tty:
            sys.stderr.write("\n")
        print_summary(p)
        if timed_out:
            _err(_("timed out waiting for alert {id}; it continues in the outbox").format(id=alert_id))
            return 3
        return 1 if p.failed else 0
    finally:
        if started and runner is not None:
            runner.stop()
        if email_runner is not None:
            email_runner.stop()
        db.dispose()


# --- alerts show / list -------------------------------------------------------------------------


def cmd_alerts_show(args, settings) -> int:
    from bin_console.cli.runtime import open_db_or_exit

    db = open_db_or_exit(settings)
    try:
        try:
            p = alerts.alert_progress(db, args.id)
        except ValueError as exc:
            _err(str(exc))
            return 2
        a = p.alert
        assert a.id is not None  # a stored alert
        who = f"{a.created_by}@{a.client_addr}" if a.client_addr else a.created_by
        line = _("Alert {id}  {when} UTC  by {who} on {host}")
        print(line.format(id=a.id, when=f"{a.created_at:%Y-%m-%d %H:%M:%S}", who=clean(who), host=clean(a.host)))
        print(_("Networks: {names}").format(names=", ".join(clean(n) for n in p.network_names)))
        training = "  " + _("TRAINING") if a.training else ""
        urgency = _("Urgency: {urgency}{training}  template: {template}")
        print(urgency.format(urgency=a.urgency, training=training, template=a.template_key or "-"))
        if a.follow_up_of is not None:
            print(_("Follow-up of alert {id}").format(id=a.follow_up_of))
        versions = alerts.alert_versions(db, a.id)
        if versions:
            for lang, text, n in versions:
                line = ngettext("Text {lang} ({n} recipient(s)): {text}", "Text {lang} ({n} recipient(s)): {text}", n)
                print(line.format(lang=lang, n=n, text=clean(text)))
        else:
            line = ngettext(
                "Text ({encoding}, {n} part(s)): {text}", "Text ({encoding}, {n} part(s)): {text}", a.parts_per_sms
            )
            print(line.format(encoding=a.encoding.upper(), n=a.parts_per_sms, text=clean(a.text)))
        thread = alerts.alert_thread(db, a.id)
        if thread:
            print(_("Follow-ups: {alerts}").format(alerts=", ".join(_("alert {id}").format(id=i) for i in thread)))
        if a.expires_at:
            print(_("Expires: {when} UTC").format(when=f"{a.expires_at:%Y-%m-%d %H:%M:%S}"))
        if a.cancelled_at:
            cancelled = _("Cancelled: {when} UTC by {who}")
            print(cancelled.format(when=f"{a.cancelled_at:%Y-%m-%d %H:%M:%S}", who=clean(a.cancelled_by)))
        reasons = labels.skip_reasons(labels.channel_of(a.urgency), a)
        print(_("Skipped: {reasons}").format(reasons=reasons or _("none")))
        print_summary(p)
        print(_("Done.") if p.done else _("Still sending."))
        return 0
    finally:
        db.dispose()


def cmd_alerts_list(args, settings) -> int:
    from bin_console.cli.runtime import open_db_or_exit

    db = open_db_or_exit(settings)
    try:
        rows = alerts.list_alerts(db, limit=args.limit)
    finally:
        db.dispose()
    if not rows:
        print(_("No alerts yet."))
        return 0
    for r in rows:
        text = clean(r.text)
        text = text if len(text) <= 40 else text[:39] + "…"
        nets = clean(", ".join(r.network_names))
        flag = " TRAINING" if r.training else ""
        if r.follow_up_of is not None:
            flag += f" follow-up of {r.follow_up_of}"
        if r.follow_ups:
            flag += f" followed up by {', '.join(map(str, r.follow_ups))}"
        channels = "+".join("SMS" if c == "sms" else "e-mail" for c in sorted(r.by_channel, reverse=True))
        print(
            f"{r.id:>6}  {r.created_at:%Y-%m-%d %H:%M}  {clean(r.who):<16} {r.urgency:<6}{flag} "
            f"{r.recipients:>6} rcpt {channels or '-'}  {r.outcome}  [{nets}]  {text}"
        )
    return 0


def cmd_alerts_reminders(args, settings) -> int:
    """Urgent alerts whose closing message is due; --dismiss ID ends one reminder (audited)."""
    from bin_console.alerts.reminders import dismiss_reminder, due_reminders
    from bin_console.cli.runtime import open_db_or_exit

    db = open_db_or_exit(settings)
    try:
        if args.dismiss is not None:
            try:
                dismiss_reminder(db, args.dismiss, Actor.current())
            except ValueError as exc:
                _err(str(exc))
                return 2
            print(_("Reminder for alert {id} dismissed.").format(id=args.dismiss))
            return 0
        due = due_reminders(db, after_minutes=settings.followup_reminder_minutes)
    finally:
        db.dispose()
    if not due:
        print(_("No follow-up due."))
        return 0
    for r in due:
        text = clean(r.text)
        text = text if len(text) <= 50 else text[:49] + "…"
        print(
            f"{r.alert_id:>6}  sent {r.created_at:%Y-%m-%d %H:%M}  follow-up due since {r.due_since:%H:%M} UTC  {text}"
        )
    hint = _("Send one: bin-console send --follow-up ID --template all_clear; or --dismiss ID ({n} due)")
    print(hint.format(n=len(due)))
    return 0
