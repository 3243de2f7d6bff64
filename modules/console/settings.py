"""The console's settings."""

from modules.core.config import Setting, as_int

SETTINGS = [
    Setting("CONSOLE_IDLE_MINUTES", 30, "A console sign-in ends after this many minutes without a page or action",
            as_int),
    Setting("CONSOLE_SESSION_HOURS", 12, "A console sign-in ends this many hours after it began, however active",
            as_int),
    Setting("PASSWORD_RESET_HOURS", 24, "A one-time password link (`flask operators reset-link`, the console's "
            "operators page) works this many hours, and only until it is used", as_int),
]
