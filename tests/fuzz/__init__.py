"""Fuzzing of every parser (issue 8): seeds in corpus.py, hypothesis targets in test_fuzz_parsers.py,
an atheris (libFuzzer) target in atheris_parsers.py run for a few seconds per kind by test_fuzz_atheris.py."""
