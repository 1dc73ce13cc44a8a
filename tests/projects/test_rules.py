"""The pure rules of projects, tested without a database: examples and properties."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from license_expression import get_spdx_licensing

from potluck.errors import InvalidInput
from potluck.projects import rules

T = TypeVar("T")
SLUG_GRAMMAR = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SPDX_LICENCES = sorted(
    key
    for key, symbol in get_spdx_licensing().known_symbols.items()
    if not getattr(symbol, "is_exception", False) and not key.startswith("LicenseRef-")
)

slug_words = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)
valid_slugs = (
    st.lists(slug_words, min_size=1, max_size=5)
    .map("-".join)
    .filter(lambda slug: 3 <= len(slug) <= 60 and slug not in rules.RESERVED_SLUGS)
)
hosts = st.from_regex(r"\A[a-z0-9]{1,20}(\.[a-z0-9]{1,10}){1,3}\Z")
paths = st.from_regex(r"\A(/[A-Za-z0-9._~-]{0,12}){0,4}\Z")


def attempt(rule: Callable[..., T], *args: Any) -> T | InvalidInput:
    """The rule's result, or the error it refused with, so properties can look at either."""
    try:
        return rule(*args)
    except InvalidInput as error:
        return error


def like_matches(pattern: str, text: str) -> bool:
    """SQL LIKE with backslash as the escape character, as both databases apply it."""
    regex, escaped = "", False
    for character in pattern:
        if escaped:
            regex += re.escape(character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == "%":
            regex += ".*"
        elif character == "_":
            regex += "."
        else:
            regex += re.escape(character)
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


class TestCheckSlug:
    @given(valid_slugs)
    def test_valid_slugs_are_kept_as_they_are(self, slug: str) -> None:
        assert rules.check_slug(slug) == slug

    @given(st.text(max_size=80))
    def test_whatever_is_accepted_follows_the_grammar(self, text: str) -> None:
        slug = attempt(rules.check_slug, text)
        if isinstance(slug, InvalidInput):
            assert slug.field == "slug"
            return
        assert SLUG_GRAMMAR.match(slug)
        assert 3 <= len(slug) <= 60
        assert slug not in rules.RESERVED_SLUGS
        assert rules.check_slug(slug) == slug

    def test_upper_case_and_spaces_around_are_normalised(self) -> None:
        assert rules.check_slug("  Open-Maps-42 ") == "open-maps-42"

    @pytest.mark.parametrize(
        "slug", ["-maps", "maps-", "open--maps", "open_maps", "open maps", "kartë", "ma/ps"]
    )
    def test_breaking_the_grammar_is_refused(self, slug: str) -> None:
        with pytest.raises(InvalidInput, match="lower-case letters, digits and single hyphens"):
            rules.check_slug(slug)

    def test_too_short_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="at least 3 characters"):
            rules.check_slug("ab")

    def test_too_long_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="at most 60 characters"):
            rules.check_slug("a" * 61)

    @pytest.mark.parametrize("slug", ["new", "explore", "api", "static", "EXPLORE"])
    def test_reserved_words_are_refused(self, slug: str) -> None:
        with pytest.raises(InvalidInput, match="reserved"):
            rules.check_slug(slug)


class TestSlugFromName:
    @given(st.text(max_size=200))
    def test_result_is_empty_or_follows_the_grammar(self, name: str) -> None:
        slug = rules.slug_from_name(name)
        assert slug == "" or SLUG_GRAMMAR.match(slug)
        assert len(slug) <= 60

    @pytest.mark.parametrize(
        ("name", "slug"),
        [
            ("Café Commons", "cafe-commons"),
            ("  OpenStreetMap: Lisbon!  ", "openstreetmap-lisbon"),
            ("C++ / Rust build farm", "c-rust-build-farm"),
            ("日本語", ""),
        ],
    )
    def test_examples(self, name: str, slug: str) -> None:
        assert rules.slug_from_name(name) == slug


class TestCheckNewSlug:
    @given(st.text(max_size=80), valid_slugs)
    def test_a_valid_slug_is_always_used_as_given(self, name: str, slug: str) -> None:
        assert rules.check_new_slug(slug, name) == slug

    @given(st.text(max_size=80))
    def test_without_a_slug_the_name_gives_one_or_asks_for_one(self, name: str) -> None:
        slug = attempt(rules.check_new_slug, "", name)
        if isinstance(slug, InvalidInput):
            assert slug.field == "slug"
            assert "Choose an address yourself" in slug.detail
        else:
            assert slug == rules.check_slug(rules.slug_from_name(name))

    def test_a_given_slug_wins_over_the_name(self) -> None:
        assert rules.check_new_slug("maps", "Something Else") == "maps"

    def test_an_empty_slug_is_made_from_the_name(self) -> None:
        assert rules.check_new_slug("  ", "Community Bike Shed") == "community-bike-shed"

    def test_a_name_that_makes_no_address_asks_for_one(self) -> None:
        with pytest.raises(InvalidInput, match="Choose an address yourself") as caught:
            rules.check_new_slug("", "日本語")
        assert caught.value.field == "slug"


class TestCheckNameAndSummary:
    @given(st.text(max_size=150))
    def test_names_come_back_trimmed_and_single_spaced(self, name: str) -> None:
        clean = attempt(rules.check_name, name)
        if isinstance(clean, InvalidInput):
            assert clean.field == "name"
            assert not name.split() or len(" ".join(name.split())) > 120
            return
        assert clean == " ".join(clean.split())
        assert 1 <= len(clean) <= 120
        assert rules.check_name(clean) == clean

    @given(st.text(max_size=320))
    def test_summaries_come_back_trimmed_and_single_spaced(self, summary: str) -> None:
        clean = attempt(rules.check_summary, summary)
        if isinstance(clean, InvalidInput):
            assert clean.field == "summary"
            return
        assert clean == " ".join(clean.split())
        assert 1 <= len(clean) <= 280

    def test_an_empty_name_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="needs a name"):
            rules.check_name(" \t ")

    def test_a_long_summary_points_to_the_description(self) -> None:
        with pytest.raises(InvalidInput, match="description"):
            rules.check_summary("x" * 281)


class TestCheckDescription:
    @given(st.text(max_size=300))
    def test_one_kind_of_line_ending_and_idempotent(self, text: str) -> None:
        clean = rules.check_description(text)
        assert "\r" not in clean
        assert rules.check_description(clean) == clean

    def test_windows_line_endings_are_unified(self) -> None:
        assert rules.check_description("a\r\nb\rc\n") == "a\nb\nc"

    def test_too_long_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="50,000"):
            rules.check_description("x" * 50_001)


class TestCheckNote:
    @given(st.text(max_size=300))
    def test_notes_are_trimmed_with_one_kind_of_line_ending(self, note: str) -> None:
        clean = rules.check_note(note, field="handover_note")
        assert "\r" not in clean
        assert clean == clean.strip()
        assert rules.check_note(clean, field="handover_note") == clean

    def test_too_long_is_refused_naming_the_field(self) -> None:
        with pytest.raises(InvalidInput, match="5,000") as caught:
            rules.check_note("x" * 5_001, field="message")
        assert caught.value.field == "message"


class TestCheckLicence:
    @pytest.mark.parametrize(
        ("given_expression", "canonical"),
        [
            ("MIT", "MIT"),
            ("mit", "MIT"),
            ("mit or apache-2.0", "MIT OR Apache-2.0"),
            ("  MIT   OR  (Apache-2.0) ", "MIT OR Apache-2.0"),
            ("GPL-2.0+", "GPL-2.0-or-later"),
            ("gpl-3.0", "GPL-3.0-only"),
            ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
            ("mit and apache-2.0 or bsd-3-clause", "(MIT AND Apache-2.0) OR BSD-3-Clause"),
        ],
    )
    def test_known_expressions_are_normalised(self, given_expression: str, canonical: str) -> None:
        assert rules.check_licence(given_expression) == canonical

    def test_an_unknown_identifier_is_named(self) -> None:
        with pytest.raises(
            InvalidInput, match=re.escape("Unknown SPDX licence identifier 'Foo-1.0'")
        ):
            rules.check_licence("MIT OR Foo-1.0")

    def test_several_unknown_identifiers_are_all_named(self) -> None:
        with pytest.raises(InvalidInput, match="identifiers 'Foo', 'Bar'") as caught:
            rules.check_licence("Foo AND Bar")
        assert caught.value.field == "licence"

    @pytest.mark.parametrize(
        "expression", ["(", "MIT AND", "MIT)", "MIT/Apache", "MIT WITH Apache-2.0"]
    )
    def test_malformed_expressions_are_refused(self, expression: str) -> None:
        with pytest.raises(InvalidInput, match="is not a valid SPDX licence expression"):
            rules.check_licence(expression)

    def test_an_empty_licence_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="needs a licence"):
            rules.check_licence("   ")

    @given(
        st.lists(st.sampled_from(SPDX_LICENCES), min_size=1, max_size=3),
        st.sampled_from([" OR ", " AND ", " or ", " and "]),
        st.booleans(),
    )
    def test_any_spdx_combination_is_accepted_and_stable(
        self, identifiers: list[str], operator: str, lower: bool
    ) -> None:
        expression = operator.join(identifiers)
        canonical = attempt(rules.check_licence, expression.lower() if lower else expression)
        if isinstance(canonical, InvalidInput):
            # Only length can refuse known identifiers.
            assert "at most 200" in canonical.detail
            return
        assert rules.check_licence(canonical) == canonical
        assert canonical == rules.check_licence(expression)

    @given(st.from_regex(r"\A[A-Za-z][A-Za-z0-9]{2,10}\Z"))
    def test_made_up_identifiers_are_refused_by_name(self, word: str) -> None:
        made_up = f"Nope-{word}"
        assume(made_up.lower() not in {key.lower() for key in SPDX_LICENCES})
        with pytest.raises(InvalidInput, match=re.escape(f"'{made_up}'")):
            rules.check_licence(f"MIT OR {made_up}")


class TestCheckLinks:
    @given(st.sampled_from(["http", "https", "HTTPS"]), hosts, paths)
    def test_web_addresses_are_accepted(self, scheme: str, host: str, path: str) -> None:
        url = f"{scheme}://{host}{path}"
        assert rules.check_link("Source", url) == rules.Link(label="Source", url=url)

    @given(st.sampled_from(["javascript", "data", "ftp", "file", "mailto", "gopher"]), hosts, paths)
    def test_other_schemes_are_refused(self, scheme: str, host: str, path: str) -> None:
        with pytest.raises(InvalidInput, match="is not a web address"):
            rules.check_link("Source", f"{scheme}://{host}{path}")

    @given(st.text(max_size=60), st.text(max_size=80))
    def test_accepted_links_always_point_to_the_web(self, label: str, url: str) -> None:
        link = attempt(rules.check_link, label, url)
        if isinstance(link, InvalidInput):
            assert link.field == "links"
            return
        assert link.url.lower().startswith(("http://", "https://"))
        assert link.label

    @pytest.mark.parametrize(
        "url", ["javascript:alert(1)", "/relative/path", "https://", "example.org", "http://a b"]
    )
    def test_examples_that_are_not_web_addresses(self, url: str) -> None:
        with pytest.raises(InvalidInput, match="Link 1"):
            rules.check_link("Source", url)

    def test_a_label_is_required(self) -> None:
        with pytest.raises(InvalidInput, match="Link 2 needs a label"):
            rules.check_links([("Site", "https://a.org"), (" ", "https://b.org")])

    def test_empty_rows_are_skipped(self) -> None:
        links = rules.check_links([("", ""), ("Chat", " https://chat.example.org "), (" ", "")])
        assert links == [rules.Link(label="Chat", url="https://chat.example.org")]

    @given(st.integers(min_value=0, max_value=15))
    def test_at_most_ten(self, count: int) -> None:
        rows = [(f"Link {n}", f"https://example.org/{n}") for n in range(count)]
        if count <= rules.MAX_LINKS:
            assert len(rules.check_links(rows)) == count
        else:
            with pytest.raises(InvalidInput, match=f"at most 10 links; {count} were given"):
                rules.check_links(rows)


class TestCheckProjectFields:
    @given(
        st.sampled_from(["", "Bike Shed", " ", "x" * 121]),
        st.sampled_from(["", "ok", "-bad", "new"]),
        st.sampled_from(["Fixing bicycles.", ""]),
        st.sampled_from(["MIT", "Nope"]),
    )
    def test_each_field_is_judged_by_its_own_rule(
        self, name: str, slug: str, summary: str, licence: str
    ) -> None:
        try:
            checked = rules.check_project_fields(
                new_slug=slug, name=name, summary=summary, licence=licence
            )
        except rules.InvalidFields as error:
            problems = error.problems
        else:
            problems = {}
            assert checked.name == rules.check_name(name)
        assert ("name" in problems) == isinstance(attempt(rules.check_name, name), InvalidInput)
        assert ("summary" in problems) == isinstance(
            attempt(rules.check_summary, summary), InvalidInput
        )
        assert ("licence" in problems) == isinstance(
            attempt(rules.check_licence, licence), InvalidInput
        )
        if slug:
            assert ("slug" in problems) == isinstance(attempt(rules.check_slug, slug), InvalidInput)

    def test_every_problem_is_reported_at_once(self) -> None:
        with pytest.raises(rules.InvalidFields) as caught:
            rules.check_project_fields(
                new_slug="-bad", name="Maps", summary="", licence="Nope", links=[("", "x")]
            )
        assert list(caught.value.problems) == ["slug", "summary", "licence", "links"]
        assert caught.value.field == "slug"
        assert caught.value.body().error == "InvalidInput"

    def test_no_address_problem_on_top_of_a_name_problem(self) -> None:
        with pytest.raises(rules.InvalidFields) as caught:
            rules.check_project_fields(new_slug="", name=" ", summary="s", licence="MIT")
        assert list(caught.value.problems) == ["name"]

    def test_fields_not_given_stay_unchecked(self) -> None:
        fields = rules.check_project_fields(licence="mit")
        assert fields == rules.ProjectFields(licence="MIT")


class TestStepDownDecision:
    @given(st.integers(min_value=0, max_value=1000))
    def test_only_the_last_steward_is_held_back(self, stewards: int) -> None:
        decision = rules.step_down_decision(stewards, project_name="Maps")
        assert decision.allowed == (stewards > 1)
        assert bool(decision.reason) != decision.allowed

    def test_the_reason_says_why_and_what_to_do(self) -> None:
        decision = rules.step_down_decision(1, project_name="Bike Shed")
        assert not decision.allowed
        assert "last steward of Bike Shed" in decision.reason
        assert "nobody to coordinate it" in decision.reason
        assert "Invite another peer" in decision.reason


class TestSearchTerms:
    @given(st.one_of(st.none(), st.text(max_size=300)))
    def test_terms_are_distinct_folded_words(self, query: str | None) -> None:
        terms = rules.search_terms(query)
        assert len(terms) <= rules.MAX_SEARCH_TERMS
        assert len(set(terms)) == len(terms)
        for term in terms:
            assert term
            assert term == term.casefold()
            assert not any(character.isspace() for character in term)

    @given(st.text(max_size=300))
    def test_normalising_twice_changes_nothing(self, query: str) -> None:
        once = rules.normalise_query(query)
        assert rules.normalise_query(once) == once
        assert rules.search_terms(once) == rules.search_terms(query)

    def test_folding_that_lengthens_text_is_stable(self) -> None:
        once = rules.normalise_query("ß" * 80)
        assert once == "s" * 100
        assert rules.normalise_query(once) == once

    def test_case_space_and_repeats_are_ignored(self) -> None:
        assert rules.search_terms("  Bike  SHED bike\tshed ") == ["bike", "shed"]
        assert rules.search_terms(None) == []
        assert rules.search_terms("   ") == []

    @given(st.text(max_size=60), st.text(max_size=60))
    def test_every_word_of_a_name_finds_it(self, name: str, summary: str) -> None:
        text = rules.search_text(name, summary, "slug")
        for term in rules.search_terms(name):
            assert term in text


class TestLikePattern:
    @given(st.text(max_size=12), st.text(max_size=40))
    def test_the_pattern_matches_exactly_the_texts_that_contain_the_term(
        self, term: str, text: str
    ) -> None:
        assert like_matches(rules.like_pattern(term), text) == (term in text)

    @given(st.text(max_size=12), st.text(max_size=12), st.text(max_size=12))
    def test_a_term_inside_a_text_is_found(self, before: str, term: str, after: str) -> None:
        assert like_matches(rules.like_pattern(term), before + term + after)

    def test_wildcards_in_the_term_are_literal(self) -> None:
        assert rules.like_pattern("100%_x\\") == "%100\\%\\_x\\\\%"


class TestPageCount:
    @given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=100))
    def test_pages_hold_every_result_and_no_empty_page(self, total: int, per_page: int) -> None:
        pages = rules.page_count(total, per_page)
        assert pages >= 1
        assert total <= pages * per_page
        if total:
            assert (pages - 1) * per_page < total


class TestDescribeChanges:
    @given(st.lists(st.sampled_from(["name", "summary", "licence", "links"]), unique=True))
    def test_every_field_is_named_once(self, fields: list[str]) -> None:
        words = rules.describe_changes(fields)
        for field in fields:
            assert words.count(field) == 1
        assert words.count(" and ") == (1 if len(fields) > 1 else 0)

    @pytest.mark.parametrize(
        ("fields", "words"),
        [
            ([], "nothing"),
            (["name"], "name"),
            (["name", "licence"], "name and licence"),
            (["name", "summary", "links"], "name, summary and links"),
        ],
    )
    def test_examples(self, fields: list[str], words: str) -> None:
        assert rules.describe_changes(fields) == words
