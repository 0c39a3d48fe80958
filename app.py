"""Haven's routing table: blueprints, middleware and the scheduled functions. Nothing else."""
from chalicelib import bootstrap
from chalicelib.api import middleware, routing
from chalicelib.api.application import Haven
from chalicelib.api.clients import bp as clients_bp
from chalicelib.api.ops import bp as ops_bp
from chalicelib.api.providers import bp as providers_bp
from chalicelib.api.public import bp as public_bp
from chalicelib.api.rooms import bp as rooms_bp

bootstrap.start()
app = Haven(app_name="haven")  # Chalice, with the request being served kept per thread
app.api.binary_types = []  # JSON and HTML only; media goes straight to S3
middleware.register_middleware(app)
for blueprint in (public_bp, clients_bp, providers_bp, ops_bp, rooms_bp):
    app.register_blueprint(blueprint)
# Live sessions (bookings, slots) and emailed links.
from chalicelib.api.bookings import bp as bookings_bp  # noqa: E402
from chalicelib.api.links import bp as links_bp  # noqa: E402

for blueprint in (bookings_bp, links_bp):
    app.register_blueprint(blueprint)
# The clinical record: questionnaires, measures, ratings, session records, the access log.
from chalicelib.api.clinical import bp as clinical_bp  # noqa: E402

app.register_blueprint(clinical_bp)
# Care pathways: referral programs and session requests.
from chalicelib.api.pathways import bp as pathways_bp  # noqa: E402

app.register_blueprint(pathways_bp)
# Between sessions (journal, moods, goals, homework, talkcasts) and data exports.
from chalicelib.api.between import bp as between_bp  # noqa: E402

app.register_blueprint(between_bp)
# The join page of live sessions (the reminders' per-participant links) and its script.
from chalicelib.api.join import bp as join_bp  # noqa: E402

app.register_blueprint(join_bp)
routing.register_fallbacks(app)  # after every route: 405 for other methods, 404 for unknown paths


@app.on_cw_event({"source": ["aws.cognito-idp"], "detail-type": ["AWS API Call via CloudTrail"],
                  "detail": {"eventSource": ["cognito-idp.amazonaws.com"],
                             "eventName": ["AdminDisableUser", "AdminUserGlobalSignOut", "AdminRemoveUserFromGroup",
                                           "AdminDeleteUser", "GlobalSignOut"]}}, name="revocations")
def revocations(event):
    """Cognito's CloudTrail events that end access (SPEC Safety): record a revocation."""
    from chalicelib.services import access

    return access.record_from_cloudtrail(event.to_dict())


@app.on_cw_event({"source": ["aws.chime"], "detail-type": ["Chime Meeting State Change"],
                  "detail": {"eventType": ["chime:AttendeeJoined", "chime:AttendeeLeft", "chime:MeetingEnded"]}},
                 name="meeting_events")
def meeting_events(event):
    """Chime's meeting events (SPEC §2): who joined a live session, and meetings Chime ended."""
    from chalicelib.services.bookings import meetings

    return meetings.on_event(event.to_dict())


@app.schedule("rate(5 minutes)", name="reminders")
def reminders(event):
    from chalicelib.sweeps import run

    return run("reminders", event)


@app.schedule("rate(5 minutes)", name="deadlines")
def deadlines(event):
    from chalicelib.sweeps import run

    return run("deadlines", event)


@app.schedule("cron(0 2 * * ? *)", name="discharges")
def discharges(event):
    from chalicelib.sweeps import run

    return run("discharges", event)


# The queue is the stage's (haven-<stage>-exports): infra/resources.py points this function's
# event source at the template's ExportsQueue (replacing the placeholder ARN below, as
# .chalice/config.json's role ARN is replaced), and the local runner drains it.
@app.on_sqs_message(queue_arn="arn:aws:sqs:us-east-1:000000000000:haven-exports-queue-is-set-by-infra-resources-json",
                    batch_size=1, name="exports")
def exports(event):
    from chalicelib.services import export_builder

    return export_builder.handle(event)
