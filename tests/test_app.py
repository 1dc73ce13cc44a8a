"""The application shell: one error shape, the OpenAPI document, the API docs page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from potluck.web.markdown import headings_from, render_markdown


class TestErrorShape:
    def test_unknown_api_path_is_a_named_404(self, client: TestClient) -> None:
        response = client.get("/api/v1/no-such-thing")
        assert response.status_code == 404
        assert response.json() == {
            "error": "NotFound",
            "detail": "Nothing is at /api/v1/no-such-thing.",
        }

    def test_unknown_page_renders_html_for_a_browser(self, client: TestClient) -> None:
        response = client.get("/no-such-page", headers={"accept": "text/html"})
        assert response.status_code == 404
        assert "text/html" in response.headers["content-type"]
        assert "Nothing is at /no-such-page." in response.text


class TestOpenApi:
    def test_document_lists_the_api(self, client: TestClient) -> None:
        document = client.get("/api/v1/openapi.json").json()
        assert document["info"]["title"] == "Potluck"
        assert all(path.startswith("/api/v1/") for path in document["paths"])

    def test_docs_page_is_served(self, client: TestClient) -> None:
        response = client.get("/api/v1/docs")
        assert response.status_code == 200
        assert "openapi.json" in response.text
        assert "/static/swagger/swagger-ui-bundle.js" in response.text
        assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200


class TestSecurityHeaders:
    def test_every_answer_carries_them(self, client: TestClient) -> None:
        response = client.get("/api/v1/openapi.json")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


class TestHeadingsFrom:
    def test_a_title_in_markdown_does_not_become_a_second_h1(self) -> None:
        html = headings_from(render_markdown("# Title\n\n## Part"), 3)
        assert "<h3>Title</h3>" in html
        assert "<h4>Part</h4>" in html
        assert "<h1>" not in html

    def test_never_goes_past_h6(self) -> None:
        html = headings_from(render_markdown("# One\n\n###### Six"), 4)
        assert "<h6>Six</h6>" in html

    def test_scripts_in_markdown_are_not_rendered(self) -> None:
        html = render_markdown("<script>alert(1)</script> [x](javascript:alert(1))")
        assert "<script>" not in html
        assert "&lt;script&gt;" in html
        assert 'href="javascript' not in html
