# lit configuration for kiln's golden IR text tests (tests/ir/**/*.ir).
#
# Run:  lit -v --param kiln_bin_dir=<build dir holding kiln-opt> tests/ir
# Each .ir file has RUN lines such as
#   // RUN: kiln-opt --split-input-file %s | FileCheck %s
# `kiln-opt` is replaced by <kiln_bin_dir>/kiln-opt and `FileCheck` by `filecheck` (the Python port).
# Test outputs go under <kiln_bin_dir>/tests/ir, never into the source tree.
import os
import shutil

import lit.formats

config.name = "kiln-ir"
config.test_format = lit.formats.ShTest()
config.suffixes = [".ir"]
config.excludes = ["lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)

kiln_bin_dir = lit_config.params.get("kiln_bin_dir")
if not kiln_bin_dir:
    lit_config.fatal(
        "missing --param kiln_bin_dir=<build dir>: the directory that holds the kiln-opt "
        "executable, e.g. lit -v --param kiln_bin_dir=build/text tests/ir"
    )
kiln_bin_dir = os.path.abspath(kiln_bin_dir)
kiln_opt = os.path.join(kiln_bin_dir, "kiln-opt")
if not os.access(kiln_opt, os.X_OK):
    lit_config.fatal(f"kiln_bin_dir={kiln_bin_dir} holds no kiln-opt executable (build it first)")
filecheck = shutil.which("filecheck")
if not filecheck:
    lit_config.fatal("filecheck is not on PATH (pip install filecheck)")

config.test_exec_root = os.path.join(kiln_bin_dir, "tests", "ir")

# The kiln CLI and the C++ program built against libkiln_runtime alone (tests/ir/cli/).
config.substitutions.append(
    ("%kiln-runtime-example", os.path.join(kiln_bin_dir, "tests", "kiln_runtime_example")))
config.substitutions.append(("%kiln", os.path.join(kiln_bin_dir, "kiln")))

# Whole words only, so that file names or options containing these words are left alone.
config.substitutions.append((r"(?<![\w./-])kiln-opt(?![\w.-])", kiln_opt))
config.substitutions.append((r"(?<![\w./-])FileCheck(?![\w.-])", filecheck))

# filecheck may live in a PYTHONPATH-only install (the GPU machine): pass the path through.
if "PYTHONPATH" in os.environ:
    config.environment["PYTHONPATH"] = os.environ["PYTHONPATH"]

# Keep the debug switches of the caller's environment out of the tests.
for name in ("KILN_DUMP_DIR", "KILN_VERIFY_EACH", "KILN_DISABLE_PASSES"):
    config.environment.pop(name, None)
