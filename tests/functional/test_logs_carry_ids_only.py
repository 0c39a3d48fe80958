"""SPEC §2 Safety: logs carry ids, never bodies, names, emails, tokens or cursors."""


def test_a_busy_scenario_logs_no_personal_or_clinical_data(api, world, cognito, capfd, caplog, clock):
    caplog.set_level("DEBUG")
    client = cognito.sign_up_client()
    api.post("/clients/me", client, {"name": "Zelda Quux", "date_of_birth": "1980-01-01", "timezone": "UTC",
                                     "region": "GB", "languages": ["en"]})
    provider = world.provider(name="Dr Ignatius Vole", licensed_regions=["GB"])  # assignments check licences
    room_id = world.room(client, provider)
    world.plan(client, kind="subscription", live_credits=2, period_anchor="2026-11-01")
    for i in range(3):
        api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": f"my secret sorrow {i}"})
    page = api.get(f"/rooms/{room_id}/messages?limit=1", provider).json
    api.get(f"/rooms/{room_id}/messages?limit=1&next={page['next']}", provider)
    api.post("/clients/me", client, {"name": "Zelda Quux", "date_of_birth": "2015-01-01", "timezone": "UTC",
                                     "region": "GB", "languages": ["en"]})  # refused: too young
    api.get("/clients/me", headers={"Authorization": "Bearer " + client.token[:-4] + "AAAA"})
    # matching: a change of provider, with an intake naming someone
    successor = world.provider(name="Dr Hortensia Wimble", licensed_regions=["GB"], timezone="Europe/London")
    api.put("/clients/me/intake", client, {"region": "GB", "languages": ["en"], "provider_kind": "psychiatrist",
                                           "focus_areas": ["insomnia"], "provider_name": "Dr Philomena Crane"})
    api.post("/clients/me/provider-change", client, {"provider_kind": "therapist", "reason": "my private reason"})
    api.get(f"/ops/clients?email={client.email}", world.ops)
    out, err = capfd.readouterr()
    # every record with all its structured keys (powertools puts extras on the record), plus raw output
    logs = out + err + "\n".join(repr(vars(record)) for record in caplog.records)
    assert room_id in logs  # ids are logged, so the log is not simply empty
    assert successor.id in logs
    for secret in ("secret sorrow", "Zelda", "Quux", "Ignatius", client.email, provider.email,
                   client.token[:40], page["next"], "Hortensia", "Philomena", "insomnia", "private reason",
                   successor.email):
        assert secret not in logs, f"{secret!r} leaked into the logs"
