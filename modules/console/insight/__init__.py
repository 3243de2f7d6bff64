"""The Insight customers pages (operators and admins, `roles.OPERATOR`): the customers list with its KPIs and
CSV (customers.py), a customer's page with actions and SMS history, connect / disconnect / warn and an SMS
from a template with its preview (customer.py), and a bulk SMS to a filtered list with the cost guard's
answer before the send (bulk_sms.py).

Every action goes through the Insight services the API calls, with the signed-in operator as the actor
(`modules.insight.access.current_actor`), so the console's actions are audited like the API's.
"""

from modules.console.insight import bulk_sms, customer, customers  # noqa: F401  (registers the views)
