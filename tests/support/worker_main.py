"""A real worker process for tests: the hub's worker, with the tests' outbox kind registered."""

from app_modular import create_app
from modules.core.cli import run_worker
from modules.core.domains import register_jobs
from tests.support import handlers

if __name__ == "__main__":
    app = create_app()
    register_jobs(app, handlers)
    with app.app_context():
        run_worker(app)
