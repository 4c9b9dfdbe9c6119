"""Only for `scrapyd-deploy`, which builds the egg it uploads with `python setup.py bdist_egg`
(and writes a setup.py of its own into the checkout when there is none). Everything about
the package is in pyproject.toml. Whatever this file builds goes to a temporary folder
(build/ and the .egg-info), removed when it ends: the checkout is left as it was."""

import atexit
import shutil
import tempfile

from setuptools import setup

scratch = tempfile.mkdtemp(prefix="vnarchive-setup-")
atexit.register(shutil.rmtree, scratch, ignore_errors=True)
setup(options={"build": {"build_base": f"{scratch}/build"}, "egg_info": {"egg_base": scratch}})
