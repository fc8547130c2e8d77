"""No reference or memory leaks over 1,000 runs."""

import gc
import os
import sys

import numpy as np

import edgeopt
from conftest import fashion_images, identity_model


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def runs_leave_rss_and_references_flat(sess, x, runs=1000):
    feeds = {sess.get_inputs()[0].name: x}
    for _ in range(100):  # warm up: plans, arena, allocator pools
        sess.run(None, feeds)
    gc.collect()
    refs_x, refs_feeds = sys.getrefcount(x), sys.getrefcount(feeds)
    objects = len(gc.get_objects())
    before = rss_bytes()
    for _ in range(runs):
        out, = sess.run(None, feeds)
    # The output array is the only owner of its tensor (through the capsule it is based on):
    # the capsule's references are the array's, `base` and getrefcount's argument.
    base = out.base
    assert not out.flags["OWNDATA"] and sys.getrefcount(base) == 3
    del out, base
    gc.collect()
    assert sys.getrefcount(x) == refs_x and sys.getrefcount(feeds) == refs_feeds
    assert len(gc.get_objects()) - objects < 10
    return rss_bytes() - before


def test_model_runs_leave_rss_flat(resnet8):
    # 16 samples: a copy of the input (50 KB) kept per run would add 50 MB over 1,000 runs.
    grown = runs_leave_rss_and_references_flat(edgeopt.InferenceSession(resnet8),
                                               fashion_images(count=16))
    assert grown < 1 << 20, f"RSS grew by {grown} bytes over 1,000 runs"


def test_large_outputs_are_freed(tmp_path):
    # 256 KB in and out of a model that does no work: an output (or its tensor) kept per run
    # would add 256 MB over 1,000 runs.
    model = identity_model(tmp_path, (256, 256))
    x = np.random.default_rng(0).random((256, 256), dtype=np.float32)
    sess = edgeopt.InferenceSession(model)
    out, = sess.run(None, {"input": x})
    np.testing.assert_array_equal(out, x)
    assert not np.shares_memory(out, x)
    grown = runs_leave_rss_and_references_flat(sess, x)
    assert grown < 4 << 20, f"RSS grew by {grown} bytes over 1,000 runs"
