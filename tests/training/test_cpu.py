import platform

import pytest

from bertkit.training import cpu


def test_preloaded_allocator_reads_the_process_memory_map(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text("7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n")
    assert cpu.preloaded_allocator(str(maps)) is None
    maps.write_text(maps.read_text() + "7f02-7f03 r-xp 0 08:01 2 /usr/lib/libtcmalloc_minimal.so.4.5.10\n")
    assert cpu.preloaded_allocator(str(maps)) == "tcmalloc"
    assert cpu.preloaded_allocator(str(tmp_path / "missing")) is None


def test_allocator_notes_say_how_to_preload_an_installed_tcmalloc(monkeypatch):
    monkeypatch.setattr(cpu, "preloaded_allocator", lambda: None)
    monkeypatch.setattr(cpu, "installed_tcmalloc", lambda: "libtcmalloc_minimal.so.4")
    (note,) = cpu.allocator_notes()
    assert "LD_PRELOAD=libtcmalloc_minimal.so.4 bertkit finetune" in note
    monkeypatch.setattr(cpu, "installed_tcmalloc", lambda: None)
    assert cpu.allocator_notes() == []
    monkeypatch.setattr(cpu, "preloaded_allocator", lambda: "jemalloc")
    assert cpu.allocator_notes() == ["memory allocator: jemalloc (preloaded)"]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_keep_freed_memory_takes_effect_on_glibc():
    assert cpu.keep_freed_memory() is True
