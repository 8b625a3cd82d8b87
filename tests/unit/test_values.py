"""The one value vocabulary (xenha.values) and the declarations that read through it."""

import pytest

from xenha import ocf, values
from xenha.alerts import settings
from xenha.errors import XenhaError
from xenha.fencing import options as o


@pytest.mark.parametrize("word", ["1", "yes", "true", "on", "YES", "True", " On "])
def test_true_words(word):
    assert values.boolean(word) is True


@pytest.mark.parametrize("word", ["0", "no", "false", "off", "NO", "False", "OFF"])
def test_false_words(word):
    assert values.boolean(word) is False


@pytest.mark.parametrize("word", ["y", "n", "ja", "nein", "", "maybe", "2"])
def test_words_the_stack_reads_differently_are_refused(word):
    with pytest.raises(ValueError, match="is not a boolean"):
        values.boolean(word)


def test_every_declaration_uses_the_same_words():
    """OCF parameters, fence options and alert attributes accept and refuse the same words."""
    param = ocf.Parameter("flag", "f", "f", type="boolean")
    option = o.Option("flag", "f", type="boolean")
    for word in values.TRUE + values.FALSE:
        expected = word in values.TRUE
        assert param.value(word) is expected
        assert option.convert(word, "stdin line 1") is expected
        assert settings._flag({"smtp_starttls": word}, "smtp_starttls") is expected
    for word in ("y", "ja"):
        with pytest.raises(ocf.OcfError, match="parameter flag: '(y|ja)' is not a boolean"):
            param.value(word)
        with pytest.raises(o.UsageError, match="stdin line 1: flag='(y|ja)' is not a boolean"):
            option.convert(word, "stdin line 1")
        with pytest.raises(XenhaError, match="expected true or false"):
            settings._flag({"smtp_starttls": word}, "smtp_starttls")


def test_integers_numbers_and_durations():
    assert values.integer(" 42 ") == 42
    with pytest.raises(ValueError, match="'4.2' is not an integer"):
        values.integer("4.2")
    assert values.positive(3) == 3
    with pytest.raises(ValueError, match="0 is not a positive number"):
        values.positive(0)
    assert values.number("0") == 0.0 and values.number("7.5", positive=True) == 7.5
    with pytest.raises(ValueError, match="'soon' is not a number of seconds"):
        values.number("soon", unit="seconds")
    with pytest.raises(ValueError, match="must not be negative"):
        values.number("-1")
    with pytest.raises(ValueError, match="must be above 0"):
        values.number("0", positive=True)
    for bad in ("nan", "inf"):
        with pytest.raises(ValueError, match="is not a number"):
            values.number(bad)
    assert [values.duration(t) for t in ("90", "90s", "500ms", "5m", "5min", "1h")] == [
        90,
        90,
        0.5,
        300,
        300,
        3600,
    ]
    for bad in ("", "s", "1.5s", "-5", "5 s", "5d"):
        with pytest.raises(ValueError, match="is not a duration"):
            values.duration(bad)


def test_choices_and_the_type_table():
    assert values.choice("2c", ("1", "2c", "3")) == "2c"
    with pytest.raises(ValueError, match="'4' is not one of 1, 2c, 3"):
        values.parse("select", "4", ("1", "2c", "3"))
    assert values.parse("second", "2.5") == 2.5
    assert values.parse("integer", "7") == 7 and values.parse("string", " x ") == " x "
    with pytest.raises(ValueError, match="type must be one of"):
        values.Setting("x", type="float")


def test_xml_escape_for_text_and_double_quoted_attributes():
    assert values.xml_escape('a<b>&"c"') == "a&lt;b&gt;&amp;&quot;c&quot;"
    assert values.xml_escape(5) == "5"
