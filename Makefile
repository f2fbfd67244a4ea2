# The two commands of the README. Both create or reuse .venv and install what is needed.
.PHONY: demo test lint clean constraints

demo:
	bash scripts/bootstrap.sh
	.venv/bin/shopkg demo

test:
	bash scripts/test.sh

lint:
	bash scripts/bootstrap.sh
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/mypy

clean:
	rm -rf .venv var .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache

constraints:
	bash scripts/bootstrap.sh
	(sed -n 1,2p constraints.txt; .venv/bin/pip freeze --exclude-editable) > constraints.txt.new
	mv constraints.txt.new constraints.txt
