"""Between sessions and data rights (SPEC §2, §3): journal, moods, settings, goals, homework,
talkcasts, exports. Each route validates, calls one service function, returns."""
from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api import models
from chalicelib.api.routing import MEMBER, route
from chalicelib.identity import CLIENT, PROVIDER

bp = Blueprint(__name__)


def _now():
    return wiring.clock()()


# --- journal ---------------------------------------------------------------------------------------

@route(bp, "/clients/me/journal", "POST", roles=(CLIENT,), body=models.JournalEntry, status=201, idempotent=True,
       summary="Write a journal entry (private unless shared)")
def write_journal(caller, body):
    from chalicelib.services import journal

    return journal.write(caller, body, _now())


@route(bp, "/clients/me/journal", "GET", roles=(CLIENT,), query=models.JournalQuery,
       summary="The caller's journal, newest first")
def list_journal(caller, query):
    from chalicelib.services import journal

    return journal.own_entries(caller, query["limit"], query.get("next"))


@route(bp, "/rooms/{room_id}/journal", "GET", roles=(PROVIDER,), query=models.JournalQuery,
       summary="The room's client's shared journal entries, newest first (access-logged)")
def shared_journal(room_id, caller, query):
    from chalicelib.services import journal

    return journal.shared_entries(caller, room_id, query["limit"], query.get("next"), _now())


# --- moods and settings ------------------------------------------------------------------------------

@route(bp, "/clients/me/moods", "POST", roles=(CLIENT,), body=models.MoodCheckIn, status=201, idempotent=True,
       summary="Check in a mood: score 1-10, emotions, an optional note")
def check_in_mood(caller, body):
    from chalicelib.services import moods

    return moods.check_in(caller, body, _now())


@route(bp, "/clients/me/moods", "GET", roles=(CLIENT,), query=models.MoodsQuery,
       summary="Mood check-ins between local dates, newest first, with weekly means")
def list_moods(caller, query):
    from chalicelib.services import moods

    return moods.own_moods(caller, query, _now())


@route(bp, "/rooms/{room_id}/moods", "GET", roles=(PROVIDER,), query=models.MoodsQuery,
       summary="The room's client's moods, when they share them (access-logged)")
def shared_moods(room_id, caller, query):
    from chalicelib.services import moods

    return moods.shared_moods(caller, room_id, query, _now())


@route(bp, "/clients/me/settings", "PATCH", roles=(CLIENT,), body=models.ClientSettings,
       summary="Change the caller's settings (`share_moods`)")
def update_settings(caller, body):
    from chalicelib.services import moods

    return moods.update_settings(caller, body, _now())


# --- goals and homework --------------------------------------------------------------------------------

@route(bp, "/rooms/{room_id}/goals", "POST", roles=MEMBER, body=models.NewGoal, status=201, idempotent=True,
       summary="Set a goal in the room")
def create_goal(room_id, caller, body):
    from chalicelib.services import goals

    return goals.create(caller, room_id, body, _now())


@route(bp, "/rooms/{room_id}/goals", "GET", roles=MEMBER, query=models.GoalsQuery,
       summary="The room's goals, in the order they were set")
def list_goals(room_id, caller, query):
    from chalicelib.services import goals

    return goals.page(caller, room_id, query["limit"], query.get("next"))


@route(bp, "/rooms/{room_id}/goals/{goal_id}", "PATCH", roles=MEMBER, body=models.GoalChange,
       summary="Change a goal's status (open or done), title or due date")
def change_goal(room_id, goal_id, caller, body):
    from chalicelib.services import goals

    return goals.change(caller, room_id, goal_id, body, _now())


@route(bp, "/rooms/{room_id}/homework", "POST", roles=(PROVIDER,), body=models.NewHomework, status=201,
       idempotent=True, summary="Assign homework (reminder at 09:00 client time the day before it is due)")
def assign_homework(room_id, caller, body):
    from chalicelib.services import homework

    return homework.assign(caller, room_id, body, _now())


@route(bp, "/rooms/{room_id}/homework", "GET", roles=MEMBER, query=models.HomeworkQuery,
       summary="The room's homework, in the order it was assigned")
def list_homework(room_id, caller, query):
    from chalicelib.services import homework

    return homework.page(caller, room_id, query["limit"], query.get("next"))


@route(bp, "/rooms/{room_id}/homework/{homework_id}/done", "POST", roles=(CLIENT,),
       summary="Mark homework done")
def homework_done(room_id, homework_id, caller):
    from chalicelib.services import homework

    return homework.mark_done(caller, room_id, homework_id, _now())


# --- talkcasts -------------------------------------------------------------------------------------------

@route(bp, "/rooms/{room_id}/talkcasts", "POST", roles=(PROVIDER,), body=models.NewTalkcast, status=201,
       idempotent=True, summary="Turn a script into speech (Amazon Polly) and post it as an audio message")
def post_talkcast(room_id, caller, body):
    from chalicelib.services import talkcasts

    return talkcasts.post(caller, room_id, body, _now())


# --- data exports ------------------------------------------------------------------------------------------

@route(bp, "/clients/me/exports", "POST", roles=(CLIENT,), status=202, idempotent=True,
       summary="Ask for a copy of everything Haven holds about the caller (built off the request path)")
def request_export(caller):
    from chalicelib.services import exports

    return exports.request(caller, _now())


@route(bp, "/clients/me/exports/{export_id}", "GET", roles=(CLIENT,),
       summary="An export: preparing, or ready with a download URL valid 15 minutes")
def get_export(export_id, caller):
    from chalicelib.services import exports

    return exports.status(caller, export_id, _now())
