"""A real worker process for tests: the hub's worker, with the tests' outbox kind registered."""

import tests.support.handlers  # noqa: F401  (registers test.webhook)
from app_modular import create_app
from modules.core.cli import run_worker

if __name__ == "__main__":
    app = create_app()
    with app.app_context():
        run_worker(app)
