"""With site.base_url set, every chat answer links to the claim's page on the website (and `/source` too)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import command, message

from bot.adapters.discord_views import claim_embed
from bot.app import open_app
from bot.config import Config, SiteConfig, load_config
from bot.errors import ConfigError
from bot.messages import ClaimAnswer, Reply
from bot.render import console_text, discord_markdown, matrix_message

BASE = "https://footnote.example.org/kb"
CLAIM = "china gives everyone a single social credit score right?"
PAGE = "https://footnote.example.org/kb/claims/single-national-score.html"


@pytest.fixture
async def linked_app(tmp_path: Path, brain):
    config = Config(database=tmp_path / "db.sqlite3", site=SiteConfig(base_url=BASE, publisher="Example"))
    async with open_app(config, brain) as app:
        yield app


def _renderings(answer: ClaimAnswer) -> dict[str, str]:
    body, html = matrix_message(answer)
    embed = claim_embed(answer)
    return {"discord": discord_markdown(answer), "matrix body": body, "matrix html": html,
            "console": console_text(answer), "discord embed": f"{embed.url} {[f.value for f in embed.fields]}"}


async def test_a_chat_answer_links_to_the_claims_page_on_every_platform(linked_app):
    """The unprompted reply carries the page address, and Discord, Matrix and the console all show it."""
    [reply] = await linked_app.engine.handle_message(message(CLAIM))
    assert isinstance(reply, Reply) and reply.answer.page_url == PAGE
    for platform, text in _renderings(reply.answer).items():
        assert PAGE in text, platform
    assert f'<a href="{PAGE}">' in matrix_message(reply.answer)[1]
    assert f"[full page](<{PAGE}>)" in discord_markdown(reply.answer)


async def test_source_answers_link_to_the_page_too(linked_app):
    """`/source` (the full answer) carries the same link, within Discord's 2,000 characters."""
    answer = await linked_app.engine.handle_command(command("source", "sesame"))
    assert answer.full and answer.page_url == "https://footnote.example.org/kb/claims/sesame-credit.html"
    for platform, text in _renderings(answer).items():
        assert answer.page_url in text, platform
    assert len(discord_markdown(answer)) <= 2000


async def test_without_a_base_url_answers_carry_no_page_link(app):
    """The default config has no website, so answers stay as they were: no link, no dangling "full page"."""
    [reply] = await app.engine.handle_message(message(CLAIM))
    assert reply.answer.page_url is None
    for platform, text in _renderings(reply.answer).items():
        assert "full page" not in text.lower() and "claims/" not in text, platform
    assert claim_embed(reply.answer).url is None


def test_a_long_answer_keeps_the_whole_page_link_in_discord(brain):
    """When a /source answer must be shortened for Discord, the link is never cut in half."""
    claim = max(brain.kb.claims.values(), key=lambda c: len(c.context))
    answer = ClaimAnswer(claim=claim, sources=brain.kb.sources_for(claim), full=True,
                         page_url=f"https://footnote.example.org/{'long-path/' * 20}claims/{claim.id}.html")
    text = discord_markdown(answer)
    assert len(text) <= 2000 and f"(<{answer.page_url}>)" in text


@pytest.mark.parametrize("value", ["footnote.example.org", "ftp://example.org/", "https://", "javascript:alert(1)",
                                   "https://example.org/?page=1", "https://exa mple.org/"])
def test_a_bad_site_address_is_a_clear_config_error(tmp_path: Path, value: str):
    """site.base_url must be an http(s) address; the error names the key and shows an example."""
    path = tmp_path / "config.yaml"
    path.write_text(f"site:\n  base_url: {value!r}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message_text = str(caught.value)
    assert "site.base_url" in message_text and "https://footnote.example.org/" in message_text
    assert "Traceback" not in message_text


def test_the_site_address_is_normalised_to_end_with_a_slash(tmp_path: Path):
    """`https://x.org/kb` and `https://x.org/kb/` give the same page addresses; an empty value means no site."""
    path = tmp_path / "config.yaml"
    path.write_text("site:\n  base_url: https://x.org/kb\n  publisher: '  Town Chat '\n")
    site = load_config(path, environ={}).site
    assert site.base_url == "https://x.org/kb/" and site.publisher == "Town Chat"
    assert site.page_url("a-claim") == "https://x.org/kb/claims/a-claim.html"
    path.write_text("site:\n  base_url: ''\n")
    assert load_config(path, environ={}).site.page_url("a-claim") is None


def test_a_bad_base_url_on_the_command_line_is_a_plain_error(tmp_path: Path):
    """`site build --base-url` is checked like the config key: one line saying what is wrong, exit 1."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "bot", "site", "build", str(tmp_path / "out"), "--base-url",
                           "footnote.example.org"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.startswith("error: --base-url:") and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
