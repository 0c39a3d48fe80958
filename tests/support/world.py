"""Scenario builder shared by the functional and local-stack tiers: registered clients, providers,
plans and rooms, made through the API itself (`api` is the in-process client or HTTP, any object
with `post`/`put(path, user, body)` answering `.status` and `.json`)."""
from __future__ import annotations

from tests.support.cognito import Cognito, User, unique_email


class World:
    def __init__(self, api, cognito: Cognito, ops: User):
        self.api, self.cognito, self.ops = api, cognito, ops

    @property
    def http(self):  # the local tier's name for the same thing
        return self.api

    def client(self, **profile) -> User:
        user = self.cognito.sign_up()
        body = {"name": "Alex Client", "date_of_birth": "1990-04-21", "timezone": "America/New_York",
                "region": "US-NY", "languages": ["en"], **profile}
        reply = self.api.post("/clients/me", user, body)
        assert reply.status == 200, reply.json
        return user

    def provider(self, **fields) -> User:
        email = unique_email("provider")
        body = {"email": email, "name": "Dr. Sam Provider", "kind": "therapist", "licensed_regions": ["US-NY"],
                "languages": ["en"], "timezone": "America/New_York", **fields}
        reply = self.api.post("/ops/providers", self.ops, body)
        assert reply.status == 201, reply.json
        return self.cognito.activate(email, "provider")

    def plan(self, client: User, **plan) -> dict:
        body = {"kind": "subscription", "live_credits": 4, "period_anchor": "2026-11-01", **plan}
        reply = self.api.put(f"/ops/clients/{client.id}/plan", self.ops, body)
        assert reply.status == 200, reply.json
        return reply.json

    def room(self, client: User, provider: User) -> str:
        reply = self.api.put("/ops/assignments", self.ops, {"client_id": client.id, "provider_id": provider.id})
        assert reply.status == 200, reply.json
        return reply.json["room_id"]

    def pair(self, **provider_fields):
        client, provider = self.client(), self.provider(**provider_fields)
        return client, provider, self.room(client, provider)
