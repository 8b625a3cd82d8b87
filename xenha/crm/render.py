"""Render a Config (xenha.crm.plan) with the Jinja2 templates in crm_templates/."""

import os
import re
import shlex

FORMATS = {"crm": "crm.j2", "xml": "cib.xml.j2", "pcs": "pcs.sh.j2", "corosync": "corosync.j2"}
_PLAIN = re.compile(r"^[A-Za-z0-9_.:/@%+=,-]+$")


def _crm_quote(value):
    value = str(value)
    if _PLAIN.match(value):
        return value
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def _crm_score(score):
    return {"INFINITY": "inf", "-INFINITY": "-inf"}.get(score, score)


def _value_type(value):
    """How a rule compares ``value``: as a number when it is an integer, else as a string
    (the XML's expression type, crmsh's ``type:op``, pcs's ``op type value``)."""
    return "number" if re.fullmatch(r"-?[0-9]+", value) else "string"


def _rule(rule, typed):
    """A rule's expressions in crm or pcs syntax, typed as in the XML."""
    parts = []
    for attr, op, value in rule.exprs:
        if value is None:
            parts.append("%s %s" % (op, attr))
        else:
            fields = {"attr": attr, "op": op, "value": value, "type": _value_type(value)}
            parts.append(typed % fields)
    return (" %s " % rule.boolean_op).join(parts)


def _environment():
    import jinja2

    import crm_templates

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.dirname(crm_templates.__file__)),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["xml.j2"]),
    )
    env.filters.update(
        crmq=_crm_quote,
        crmscore=_crm_score,
        crmrule=lambda rule: _rule(rule, "%(attr)s %(type)s:%(op)s %(value)s"),
        pcsrule=lambda rule: _rule(rule, "%(attr)s %(op)s %(type)s %(value)s"),
        valuetype=_value_type,
        sh=shlex.quote,
    )
    return env


def render(model, fmt="crm", source="the description"):
    """The configuration of a checked model in one of FORMATS."""
    from xenha.crm import plan, targets

    template = _environment().get_template(FORMATS[fmt])
    if fmt == "corosync":
        from xenha.crm import totem

        c = model["cluster"]
        timing = (c["token_ms"], c["timing"], len(c["nodes"]))
        corosync = targets.of(model).corosync
        return template.render(
            m=model,
            source=source,
            corosync=corosync,
            totem=totem.timings(*timing, corosync=corosync),
            lost_after=totem.lost_after(*timing),
            qdevice=totem.qdevice_timings(c["timing"]),
            authkey=totem.AUTHKEY,
        )
    return render_config(plan.build(model), fmt, source)


def render_config(cfg, fmt="crm", source="the description"):
    """A Config (or a part of one: a section left empty is left out) in crm, xml or pcs."""
    by_id = {p.id: p for p in cfg.primitives}
    clone_of = {c.rsc for c in cfg.clones}
    template = _environment().get_template(FORMATS[fmt])
    return template.render(cfg=cfg, source=source, by_id=by_id, clone_of=clone_of)
