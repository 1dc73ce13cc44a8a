"""The pure rules about peers, without a database: examples and Hypothesis properties."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from potluck.errors import InvalidInput
from potluck.people import rules

_local_part = st.text(string.ascii_letters + string.digits + "._+-", min_size=1, max_size=30)
_domain = st.from_regex(r"[a-zA-Z0-9-]{1,20}\.[a-zA-Z]{2,10}", fullmatch=True)
emails = st.builds(lambda local, domain: f"{local}@{domain}", _local_part, _domain)


class TestNormaliseEmail:
    @given(st.text())
    def test_is_idempotent(self, email: str) -> None:
        once = rules.normalise_email(email)
        assert rules.normalise_email(once) == once

    @given(emails, st.sampled_from(["", " ", "\t", "  \n"]))
    def test_ignores_case_and_surrounding_space(self, email: str, space: str) -> None:
        assert rules.normalise_email(space + email.upper() + space) == rules.normalise_email(email)


class TestCheckEmail:
    @given(emails)
    def test_accepts_addresses_and_answers_the_normal_form(self, email: str) -> None:
        assert rules.check_email(email) == rules.normalise_email(email)

    @pytest.mark.parametrize(
        "email", ["", "ada", "ada@", "@example.org", "ada@example", "a da@example.org", "a@b@c.d"]
    )
    def test_refuses_what_is_not_an_address(self, email: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            rules.check_email(email)
        assert refused.value.field == "email"

    @given(emails, st.sampled_from(["\x00", "\x07", "\x1b", "\x7f"]))
    def test_refuses_control_characters(self, email: str, control: str) -> None:
        with pytest.raises(InvalidInput):
            rules.check_email(control + email)

    def test_refuses_more_than_fits_the_column(self) -> None:
        with pytest.raises(InvalidInput, match="not an email address"):
            rules.check_email("a" * 250 + "@example.org")


class TestFailureKey:
    @given(st.text())
    def test_is_always_storable(self, email: str) -> None:
        key = rules.failure_key(email)
        assert len(key) <= rules.MAX_EMAIL_LENGTH
        assert "\x00" not in key

    @given(emails)
    def test_is_the_normal_form_of_a_real_address(self, email: str) -> None:
        assert rules.failure_key(email) == rules.check_email(email)


class TestCheckDisplayName:
    @given(st.text(min_size=1, max_size=120))
    def test_output_is_tidy_and_stable(self, name: str) -> None:
        try:
            clean = rules.check_display_name(name)
        except InvalidInput:
            return
        assert "  " not in clean
        assert clean == clean.strip()
        assert 0 < len(clean) <= rules.MAX_DISPLAY_NAME_LENGTH
        assert rules.check_display_name(clean) == clean

    @given(st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=20))
    def test_blank_is_refused(self, blank: str) -> None:
        with pytest.raises(InvalidInput, match="required"):
            rules.check_display_name(blank)

    def test_too_long_is_refused_naming_the_limit(self) -> None:
        with pytest.raises(InvalidInput, match="at most 80 characters"):
            rules.check_display_name("x" * 81)

    def test_control_characters_are_refused(self) -> None:
        with pytest.raises(InvalidInput, match="control characters"):
            rules.check_display_name("Ada\x00")


class TestCheckBio:
    @given(st.text(max_size=rules.MAX_BIO_LENGTH))
    def test_is_stable_and_has_one_kind_of_line_ending(self, bio: str) -> None:
        try:
            clean = rules.check_bio(bio)
        except InvalidInput:
            return
        assert "\r" not in clean
        assert rules.check_bio(clean) == clean

    def test_keeps_markdown_line_breaks(self) -> None:
        assert rules.check_bio("first  \r\nsecond\n") == "first  \nsecond"

    def test_empty_is_allowed(self) -> None:
        assert rules.check_bio("  \n ") == ""

    def test_too_long_is_refused_with_its_length(self) -> None:
        with pytest.raises(InvalidInput, match="this one has 2001"):
            rules.check_bio("x" * 2001)


class TestCheckPassword:
    @given(st.text(min_size=rules.MIN_PASSWORD_LENGTH, max_size=60))
    def test_long_enough_passwords_pass_unless_they_are_the_email(self, password: str) -> None:
        assume(password.strip().lower() != "someone@example.org")
        rules.check_password(password, email="someone@example.org", display_name="")

    @given(st.text(max_size=rules.MIN_PASSWORD_LENGTH - 1))
    def test_short_passwords_are_refused(self, password: str) -> None:
        with pytest.raises(InvalidInput, match="at least 10"):
            rules.check_password(password)

    def test_own_email_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="must not be your email"):
            rules.check_password("Ada@Example.org", email="ada@example.org")


class TestTokens:
    @given(st.text())
    def test_secret_hash_is_a_sha256_hex_digest(self, secret: str) -> None:
        assert re.fullmatch(r"[0-9a-f]{64}", rules.secret_hash(secret))

    def test_new_tokens_are_prefixed_and_distinct(self) -> None:
        tokens = {rules.new_api_token() for _ in range(100)}
        assert len(tokens) == 100
        assert all(token.startswith(rules.TOKEN_PREFIX) for token in tokens)

    def test_shown_part_does_not_give_the_token_away(self) -> None:
        token = rules.new_api_token()
        shown = rules.token_shown_part(token)
        assert token.startswith(shown)
        # 32 hidden characters of base64url are 192 bits: far beyond guessing.
        assert len(token) - len(shown) >= 32

    @given(st.text(max_size=100))
    def test_token_name_is_tidy_when_accepted(self, name: str) -> None:
        try:
            clean = rules.check_token_name(name)
        except InvalidInput:
            return
        assert "  " not in clean
        assert 0 < len(clean) <= rules.MAX_TOKEN_NAME_LENGTH

    @given(st.text())
    def test_only_known_scopes_pass(self, scope: str) -> None:
        if scope in rules.TOKEN_SCOPES:
            assert rules.check_scope(scope) == scope
        else:
            with pytest.raises(InvalidInput, match="read, read-write"):
                rules.check_scope(scope)


class TestSafeNext:
    @given(st.text())
    def test_never_leaves_the_site(self, target: str) -> None:
        chosen = rules.safe_next(target, "/home")
        assert chosen in {"/home", target}
        assert chosen.startswith("/")
        assert not chosen.startswith("//")
        assert "\\" not in chosen
        assert not any(character <= " " or character == "\x7f" for character in chosen)

    @given(st.from_regex(r"(/[a-z0-9-]{1,12}){1,4}(\?[a-z]{1,5}=[a-z0-9%]{1,8})?", fullmatch=True))
    def test_keeps_local_paths(self, path: str) -> None:
        assert rules.safe_next(path, "/home") == path

    @pytest.mark.parametrize(
        "target",
        [
            None,
            "",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            " /me",
            "javascript:alert(1)",
            "me",
        ],
    )
    def test_refuses_other_sites_and_oddities(self, target: str | None) -> None:
        assert rules.safe_next(target, "/home") == "/home"


class TestWaitPhrase:
    @given(st.floats(min_value=0, max_value=10**7, allow_nan=False))
    def test_never_says_less_than_the_wait(self, seconds: float) -> None:
        minutes = int(rules.wait_phrase(seconds).split()[1])
        assert minutes >= 1
        assert minutes * 60 >= seconds

    def test_reads_naturally(self) -> None:
        assert rules.wait_phrase(30) == "in 1 minute"
        assert rules.wait_phrase(61) == "in 2 minutes"
        assert rules.wait_phrase(900) == "in 15 minutes"
