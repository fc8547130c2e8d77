#!/usr/bin/python3
"""The corpus gate itself: an expected pass that fails, an expected failure that passes, a failure
with another error than the manifest's, and outputs beyond the tolerance must all be caught."""

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_corpus  # noqa: E402

FAIL = {"expect": "fail", "reason": "no kernel", "error": "no provider can run these ops: If-16"}


class Verdict(unittest.TestCase):
    def test_expected_pass(self):
        self.assertTrue(run_corpus.verdict({"expect": "pass"}, "pass", "")[0])
        self.assertFalse(run_corpus.verdict({"expect": "pass"}, "fail", "boom")[0])

    def test_expected_failure_that_passes_is_caught(self):
        self.assertFalse(run_corpus.verdict(FAIL, "pass", "")[0])

    def test_expected_failure_must_fail_the_same_way(self):
        err = "edgeopt run: exit 2: edgeopt: error: no provider can run these ops: If-16"
        self.assertTrue(run_corpus.verdict(FAIL, "fail", err)[0])
        crash = "edgeopt run: signal 11: (no message)"
        self.assertFalse(run_corpus.verdict(FAIL, "fail", crash)[0])


class Compare(unittest.TestCase):
    def test_tolerance_is_relative_to_ort(self):
        ref = {"y": np.array([100.0, -50.0], np.float32)}
        run_corpus.compare({"y": ref["y"] + np.float32(0.009)}, ref, 1e-4, 1e-7)
        with self.assertRaises(run_corpus.CheckFailed):
            run_corpus.compare({"y": ref["y"] + np.float32(0.02)}, ref, 1e-4, 1e-7)

    def test_shape_nan_missing_and_integers(self):
        ref = {"y": np.ones((2, 3), np.float32), "k": np.array([1, 2], np.int64)}
        ok = {"y": np.ones((2, 3), np.float32), "k": np.array([1, 2], np.int64)}
        run_corpus.compare(ok, ref, 1e-4, 1e-7)
        for bad in (
            {"y": np.ones((3, 2), np.float32), "k": ok["k"]},
            {"y": np.full((2, 3), np.nan, np.float32), "k": ok["k"]},
            {"y": ok["y"]},
            {"y": ok["y"], "k": np.array([1, 3], np.int64)},
        ):
            with self.assertRaises(run_corpus.CheckFailed):
                run_corpus.compare(bad, ref, 1e-4, 1e-7)


if __name__ == "__main__":
    unittest.main()
