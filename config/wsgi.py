from django.core.wsgi import get_wsgi_application

from config.environment import configure

# SHADAN_ENV=production in the unit (deploy/shadan-td.service); never a guess.
configure()

application = get_wsgi_application()
