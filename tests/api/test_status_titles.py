"""Error titles name the status the same way whichever Python serves them."""

from __future__ import annotations

from flux_edge.api.answers import status_title


def test_the_phrases_python_3_13_renamed_keep_their_titles() -> None:
    # 3.13's http.HTTPStatus says "Content Too Large", "URI Too Long", "Range Not Satisfiable"
    # and "Unprocessable Content"; the Supabase route turns titles into error codes too.
    assert status_title(413) == "Request Entity Too Large"
    assert status_title(414) == "Request-URI Too Long"
    assert status_title(416) == "Requested Range Not Satisfiable"
    assert status_title(422) == "Unprocessable Entity"


def test_other_statuses_take_their_reason_phrase() -> None:
    assert status_title(404) == "Not Found"
    assert status_title(405) == "Method Not Allowed"
    assert status_title(429) == "Too Many Requests"
    assert status_title(599) == "Error"
