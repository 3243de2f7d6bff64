"""The console's DTech sales pages (`@page(roles.AGENT)`: agents and admins): pages.py shows the processes
and their recordings, actions.py starts, continues, stops and uploads through the domain's services, and
forms.py reads the forms into the API's request bodies."""

from modules.console.sales import actions, pages  # noqa: F401  (they add their views to the console's blueprint)
