# The two commands of the README. Both create or reuse .venv and install what is needed.
.PHONY: demo test lint clean

demo:
	bash scripts/bootstrap.sh
	.venv/bin/shopkg demo

test:
	bash scripts/test.sh

lint:
	bash scripts/bootstrap.sh
	.venv/bin/ruff check .
	.venv/bin/mypy

clean:
	rm -rf .venv var .pytest_cache .mypy_cache .ruff_cache
