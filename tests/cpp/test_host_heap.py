"""The core keeps freed host memory in glibc's heap between steps (cpp/src/host_heap.cpp),
unless told not to or the process tunes malloc itself. Each case runs in a fresh process:
the setting is made once per process."""

import os
import subprocess
import sys

import pytest

SCRIPT = """
import ctypes, hermnet._core as core
status = core.keep_host_heap()
# glibc only frees a large block back to the kernel when it was mapped on its own; after
# the thresholds are raised a 64 MB block comes from the heap, so freeing it keeps the
# memory resident. mallinfo2's hblkhd counts the bytes in separately mapped blocks.
libc = ctypes.CDLL("libc.so.6")
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
block = libc.malloc(64 << 20)
print(status, "|", libc.mallinfo2().hblkhd >= 64 << 20)
libc.free(ctypes.c_void_p(block))
"""


def run(extra_env):
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "HERMNET_KEEP_HEAP")}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env={**env, **extra_env}
    )
    assert out.returncode == 0, out.stderr
    status, mapped = out.stdout.strip().split(" | ")
    return status, mapped == "True"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc heap tuning")
def test_large_blocks_come_from_the_heap_by_default():
    status, mapped = run({})
    assert status == "freed memory kept in the heap between steps"
    assert not mapped


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc heap tuning")
def test_opt_out_and_user_tuning_leave_malloc_alone():
    status, mapped = run({"HERMNET_KEEP_HEAP": "0"})
    assert status.startswith("malloc defaults") and mapped
    status, mapped = run({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"})
    assert status == "malloc as tuned by the environment" and mapped
