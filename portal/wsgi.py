import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()
# Everything loaded so far (Django, the apps, the URL conf) lives as long as the process: keep it out of
# the garbage collector's full passes, which otherwise stall a busy worker for tens of milliseconds.
gc.freeze()
