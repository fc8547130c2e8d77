"""Packs the already built Python module into a wheel (see pyproject.toml; `make wheel`).

The package is taken from $EDGEOPT_BUILD_DIR/python/edgeopt (default build/), where
`ninja -C build` puts the native module _edgeopt next to __init__.py.
"""

import glob
import os

from setuptools import setup
from setuptools.dist import Distribution

# setuptools takes paths relative to this folder only.
BUILD = os.path.relpath(os.environ.get("EDGEOPT_BUILD_DIR", "build"),
                        os.path.dirname(os.path.abspath(__file__)))
PACKAGE_ROOT = os.path.join(BUILD, "python")
STAGING = os.path.join(BUILD, "wheel")


class NativeDistribution(Distribution):
    """The package holds a native module built for this interpreter and platform: the wheel is
    tagged for them (cp311-cp311-linux_x86_64), not as pure Python (py3-none-any)."""

    def has_ext_modules(self):
        return True


if not glob.glob(os.path.join(PACKAGE_ROOT, "edgeopt", "_edgeopt*.so")):
    raise SystemExit(f"setup.py: no native module in {PACKAGE_ROOT}/edgeopt: build it first "
                     f"(ninja -C {BUILD}, or make wheel)")
os.makedirs(STAGING, exist_ok=True)

setup(
    distclass=NativeDistribution,
    package_dir={"": PACKAGE_ROOT},
    packages=["edgeopt"],
    # edgeopt-train (the training commands, on the system's libtorch) when the build has it.
    package_data={"edgeopt": ["_edgeopt*.so", "edgeopt-train"]},
    # setuptools' staging folders go under the CMake build folder, not into the source tree.
    options={"build": {"build_base": STAGING}, "egg_info": {"egg_base": STAGING}},
)
