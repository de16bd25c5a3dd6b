"""Files that are not model or protocol files are refused by name, before they are read: a
directory, a device, a FIFO, a file over the size limit, a name the OS cannot look up. Each
gives the osteogrn error of the loader, never OSError or a hang."""

import os
import subprocess
import sys
import textwrap

import pytest

import osteogrn as og

SMALL_PROTOCOL = '{"schema": "osteogrn-protocol/1", "name": "p", "duration": 2}'


def _in_subprocess(code: str) -> subprocess.CompletedProcess:
    # Reading /dev/zero or a FIFO without a writer would never end, so these run in a child
    # process with a deadline: a hang fails the test instead of stopping the suite.
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_a_directory_is_named_as_one(tmp_path):
    with pytest.raises(og.ModelError, match="it is a directory") as info:
        og.load_model(str(tmp_path))
    assert info.value.file == str(tmp_path)
    with pytest.raises(og.ProtocolError, match="it is a directory"):
        og.load_protocol(tmp_path)


@pytest.mark.parametrize("loader", ["load_model", "load_protocol"])
def test_dev_zero_is_refused_before_reading(loader):
    done = _in_subprocess(f"""
        import osteogrn as og
        try:
            og.{loader}("/dev/zero")
        except og.OsteogrnError as e:
            print(type(e).__name__, "|", e.file, "|", e.message)
        """)
    assert done.returncode == 0, done.stderr
    kind, file, message = (part.strip() for part in done.stdout.split("|"))
    assert kind == ("ModelError" if loader == "load_model" else "ProtocolError")
    assert file == "/dev/zero"
    assert "a character device is not a regular file" in message


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    done = _in_subprocess(f"""
        import osteogrn as og
        try:
            og.load_model({str(fifo)!r})
        except og.ModelError as e:
            print(e.message)
        """)
    assert done.returncode == 0, done.stderr
    assert "FIFO" in done.stdout and "not a regular file" in done.stdout


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(1 << 40)  # sparse: 1 TiB that takes no disk space
    with pytest.raises(og.ModelError, match="1099511627776 bytes, over the limit of 67108864"):
        og.load_model(big)


def test_the_limit_is_set_by_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    path.write_text(SMALL_PROTOCOL)
    size = path.stat().st_size
    monkeypatch.setenv("OSTEOGRN_MAX_FILE_BYTES", str(size - 1))
    with pytest.raises(og.ProtocolError, match=f"over the limit of {size - 1} bytes"):
        og.load_protocol(path)
    monkeypatch.setenv("OSTEOGRN_MAX_FILE_BYTES", str(size))
    assert og.load_protocol(path).duration == 2
    monkeypatch.setenv("OSTEOGRN_MAX_FILE_BYTES", "a lot")
    with pytest.raises(og.ProtocolError, match="OSTEOGRN_MAX_FILE_BYTES='a lot'"):
        og.load_protocol(path)


def test_a_name_over_255_bytes_is_an_unknown_builtin_not_an_oserror():
    name = "x" * 300
    with pytest.raises(og.ModelError, match="no built-in model or file named so"):
        og.load_model(name)
    with pytest.raises(og.ProtocolError, match="no built-in protocol or file named so"):
        og.load_protocol(name)
    # As a path, the reader names the problem.
    with pytest.raises(og.ModelError, match="cannot open the model file"):
        og.load_model(f"/tmp/{name}.json")


def test_a_name_with_a_nul_is_an_osteogrn_error():
    with pytest.raises(og.ModelError):
        og.load_model("osteo\0genic")
    with pytest.raises(og.ModelError, match="NUL"):
        og.load_model("/etc/passwd\0.json")
