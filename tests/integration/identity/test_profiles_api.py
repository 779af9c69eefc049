"""The profiles admin API on the local cloud: look up, search, patch, timeline, consent, merges and un-merge,
settings — and every refusal is problem+json naming the field."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.conftest import Api
from tests.integration.identity.conftest import Tap, visit

PROBLEM = "application/problem+json"


def profile_of(api: Api, **ref: str) -> dict[str, Any]:
    ((name, value),) = ref.items()
    reply = api.admin("GET", f"/v1/profiles?{name}={quote(value)}")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def test_lookup_by_each_identifier_search_by_trait_and_patch_crm_fields(cloud: Any, api: Api, tap: Tap) -> None:
    # Given Ana, who browsed and identified
    visit(api, "page", {"anonymousId": "api-ana", "properties": {"path": "/recipes/soup"}})
    visit(
        api,
        "identify",
        {"anonymousId": "api-ana", "userId": "api-ana-1", "traits": {"email": "Api.Ana@Example.com", "plan": "gold"}},
    )
    cloud.settle()
    # When she is looked up by email, user id or anonymous id, it is the same profile
    ana = profile_of(api, email="api.ana@example.com")
    assert profile_of(api, userId="api-ana-1")["profileId"] == ana["profileId"]
    assert profile_of(api, anonymousId="api-ana")["profileId"] == ana["profileId"]
    assert ana["traits"] == {"email": "Api.Ana@Example.com", "plan": "gold"}
    assert ana["computed"]["pageViews"] == 1
    assert ana["computed"]["pageViewsBySection"] == {"recipes": 1}
    # And found by a trait
    found = api.admin("GET", "/v1/profiles/search?trait=plan&value=gold")
    assert found.status == 200
    assert ana["profileId"] in [p["profileId"] for p in found.body["profiles"]]
    # When an admin sets a CRM field and clears another
    patched = api.admin("PATCH", f"/v1/profiles/{ana['profileId']}", {"traits": {"crmStage": "customer", "plan": None}})
    assert patched.status == 200, patched.body
    assert patched.body["changed"] == {"crmStage": "customer", "plan": None}
    assert patched.body["traits"] == {"email": "Api.Ana@Example.com", "crmStage": "customer"}
    # Then segments hear about it
    updates = tap.of("ProfileUpdated", profileId=ana["profileId"])
    assert {"crmStage": "customer", "plan": None} in [u["data"]["changed"] for u in updates]


def test_the_timeline_is_newest_first_paged_and_filtered_by_type(cloud: Any, api: Api) -> None:
    for index in range(5):
        visit(api, "page", {"anonymousId": "api-tl", "properties": {"path": f"/p/{index}"}})
        cloud.advance("1m")
    visit(api, "track", {"anonymousId": "api-tl", "event": "Video Played"})
    cloud.settle()
    profile_id = profile_of(api, anonymousId="api-tl")["profileId"]
    first = api.admin("GET", f"/v1/profiles/{profile_id}/timeline?limit=4")
    assert first.status == 200, first.body
    assert [i["type"] for i in first.body["items"]] == ["track", "page", "page", "page"]
    assert [i["properties"].get("path") for i in first.body["items"][1:]] == ["/p/4", "/p/3", "/p/2"]
    rest = api.admin("GET", f"/v1/profiles/{profile_id}/timeline?limit=4&cursor={first.body['next']}")
    assert [i["properties"]["path"] for i in rest.body["items"]] == ["/p/1", "/p/0"]
    assert rest.body["next"] is None
    tracks = api.admin("GET", f"/v1/profiles/{profile_id}/timeline?type=track")
    assert [i["event"] for i in tracks.body["items"]] == ["Video Played"]
    bad = api.admin("GET", f"/v1/profiles/{profile_id}/timeline?cursor=nonsense")
    assert (bad.status, bad.content_type, bad.body["errors"][0]["field"]) == (400, PROBLEM, "cursor")


def test_an_admin_merge_of_two_known_people_can_be_undone(cloud: Any, api: Api, tap: Tap) -> None:
    visit(api, "identify", {"anonymousId": "api-m1", "userId": "api-m-ana", "traits": {"city": "Lyon"}})
    visit(api, "identify", {"anonymousId": "api-m2", "userId": "api-m-bob", "traits": {"city": "Paris", "vip": True}})
    cloud.settle()
    ana, bob = profile_of(api, userId="api-m-ana")["profileId"], profile_of(api, userId="api-m-bob")["profileId"]
    merged = api.admin("POST", "/v1/profiles/merge", {"survivingProfileId": ana, "mergedProfileId": bob})
    assert merged.status == 200, merged.body
    assert profile_of(api, userId="api-m-bob")["profileId"] == ana
    assert api.admin("GET", f"/v1/profiles/{bob}").body["resolvedFrom"] == bob
    log = api.admin("GET", f"/v1/profiles/{ana}/merges").body["merges"]
    assert [(m["mergedProfileId"], m["reason"], m["status"]) for m in log] == [(bob, "admin", "done")]
    # When the merge is undone
    undone = api.admin("POST", f"/v1/profiles/{ana}/merges/{merged.body['mergeId']}/undo")
    assert undone.status == 200, undone.body
    # Then both stand alone again with their own traits
    assert profile_of(api, userId="api-m-bob")["profileId"] == bob
    assert profile_of(api, userId="api-m-ana")["traits"] == {"city": "Lyon"}
    assert profile_of(api, userId="api-m-bob")["traits"] == {"city": "Paris", "vip": True}
    assert tap.of("ProfilesUnmerged", survivingProfileId=ana)[0]["data"]["restoredProfileId"] == bob
    # And a merge of a profile with itself is refused
    same = api.admin("POST", "/v1/profiles/merge", {"survivingProfileId": ana, "mergedProfileId": ana})
    assert (same.status, same.content_type) == (409, PROBLEM)


def test_consent_decisions_are_recorded_and_announced(cloud: Any, api: Api, tap: Tap) -> None:
    visit(api, "identify", {"anonymousId": "api-c", "traits": {"email": "api-c@example.com"}})
    cloud.settle()
    profile_id = profile_of(api, anonymousId="api-c")["profileId"]
    reply = api.admin(
        "PUT", f"/v1/profiles/{profile_id}/consent", {"email_marketing": True, "tracking": False, "source": "crm"}
    )
    assert reply.status == 200, reply.body
    assert reply.body["consent"]["email_marketing"]["granted"] is True
    assert reply.body["consent"]["tracking"]["source"] == "crm"
    changes = {(e["data"]["purpose"], e["data"]["granted"]) for e in tap.of("ConsentChanged", profileId=profile_id)}
    assert changes == {("email_marketing", True), ("tracking", False)}
    empty = api.admin("PUT", f"/v1/profiles/{profile_id}/consent", {"source": "crm"})
    assert (empty.status, empty.content_type) == (400, PROBLEM)


def test_settings_configure_the_merge_policy(cloud: Any, api: Api) -> None:
    assert api.admin("GET", "/v1/identity/settings").body == {
        "mergePolicy": {"linkAnonymousOnEmail": True, "mergeKnownOnVerified": True},
        "retentionDays": 395,
    }
    invalid = api.admin("PUT", "/v1/identity/settings", {"retentionDays": 5})
    assert (invalid.status, invalid.body["errors"][0]["field"]) == (400, "retentionDays")


def test_refusals_are_problem_json_naming_the_field(api: Api) -> None:
    missing = api.admin("GET", "/v1/profiles/no-such-profile")
    assert (missing.status, missing.content_type, missing.body["errors"][0]["field"]) == (404, PROBLEM, "profileId")
    both = api.admin("GET", "/v1/profiles?email=a@b.co&userId=x")
    assert (both.status, both.body["errors"][0]["field"]) == (400, "email")
    bad_trait = api.admin("GET", "/v1/profiles/search?trait=a.b&value=1")
    assert (bad_trait.status, bad_trait.body["errors"][0]["field"]) == (400, "trait")
    with_write_key = api.request("GET", "/v1/profiles/x", key=api.write_key)
    assert (with_write_key.status, with_write_key.content_type) == (403, PROBLEM)
    patch = api.admin("PATCH", "/v1/profiles/x", {"traits": {}})
    assert (patch.status, patch.body["errors"][0]["field"]) == (400, "traits")


def test_a_form_body_is_refused_as_an_unsupported_media_type(cloud: Any, api: Api) -> None:
    # Given a known visitor
    visit(api, "identify", {"anonymousId": "api-form", "userId": "api-form-1", "traits": {"plan": "gold"}})
    cloud.settle()
    profile_id = profile_of(api, userId="api-form-1")["profileId"]
    # When a script patches the profile with a form body: without a boundary, or with non-Latin-1 text in it
    for content_type, raw in [
        ("multipart/form-data", b'{"traits": {"plan": "silver"}}'),
        (
            "multipart/form-data; boundary=x",
            '--x\r\nContent-Disposition: form-data; name="plan"\r\n\r\nÿ€\r\n--x--'.encode(),
        ),
    ]:
        reply = api.request(
            "PATCH",
            f"/v1/profiles/{profile_id}",
            key=api.admin_key,
            scheme="bearer",
            raw=raw,
            headers={"content-type": content_type},
        )
        # Then it is refused as problem+json naming the content type, and nothing changed
        assert reply.status == 415, reply.body
        assert reply.content_type == PROBLEM
        assert reply.body["errors"] == [{"field": "content-type", "message": "send application/json"}]
    assert profile_of(api, userId="api-form-1")["traits"]["plan"] == "gold"


def test_a_body_of_another_media_type_is_refused_as_problem_json(cloud: Any, api: Api) -> None:
    reply = api.request(
        "POST",
        "/v1/profiles/merge",
        key=api.admin_key,
        scheme="bearer",
        raw=b"<merge/>",
        headers={"content-type": "application/xml"},
    )
    assert reply.status == 415, reply.body
    assert reply.content_type == PROBLEM
    assert reply.body["errors"][0]["field"] == "content-type"
