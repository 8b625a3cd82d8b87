"""One reader of root-only secret files, same meaning for the XAPI password and the
fence agents' password_file: the first line, the mode checked on the file read."""

import os

import pytest

from xenha.errors import XenhaError
from xenha.fencing import options
from xenha.fencing.options import UsageError
from xenha.xapi import Settings


def fence_opts(path):
    return options.parse_stdin(
        (options.PASSWORD_FILE, options.LOGIN_TIMEOUT), "password_file=%s\n" % path
    )


def secret(tmp_path, text, mode=0o600):
    path = tmp_path / "secret"
    path.write_text(text)
    os.chmod(str(path), mode)
    return str(path)


def test_xapi_and_fence_agents_read_the_first_line(tmp_path):
    path = secret(tmp_path, "hunter2\nsecond line\n")
    assert Settings(password_file=path).password() == "hunter2"
    assert fence_opts(path).secret() == "hunter2"


def test_refusals_name_the_file(tmp_path):
    st = Settings(password_file=secret(tmp_path, ""))
    with pytest.raises(XenhaError, match="XAPI password file .* is empty"):
        st.password()
    os.chmod(st.password_file, 0o640)
    with pytest.raises(XenhaError, match="mode 0640.*chmod 600"):
        st.password()
    with pytest.raises(UsageError, match="mode 0640.*chmod 600"):
        fence_opts(st.password_file).secret()
    with pytest.raises(XenhaError, match="XAPI password file .*nope: No such file"):
        Settings(password_file=str(tmp_path / "nope")).password()
    assert Settings().password() == ""


def test_the_mode_checked_is_the_mode_of_the_file_read(tmp_path, monkeypatch):
    """A stat of the path, then an open, could see two files: the private one that was
    there at the stat and the readable one swapped in before the open."""
    private = tmp_path / "private"
    private.write_text("x\n")
    os.chmod(str(private), 0o600)
    path = secret(tmp_path, "hunter2\n", 0o644)
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: real_stat(str(private), *a, **k))
    with pytest.raises(XenhaError, match="chmod 600"):
        Settings(password_file=path).password()
