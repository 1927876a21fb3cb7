"""Injection: hostile text quoted back at the bot never becomes a ping, a live foreign link or live HTML.

Each payload rides along with a claim the bot clearly knows, and is also fed to every command that echoes
what the user typed (``source``, ``explain``, an unknown command's name, the moderators' ``test``). Every
:data:`~bot.messages.Answer` that comes back is rendered for Discord, Matrix and the console, and checked:

- Discord Markdown: no ``@everyone``/``@here``, no ``<@…>``/``<#…>`` mention syntax, no link or URL but the
  knowledge base's own sources (collected from ``kb.sources``), no raw ``<`` from the user.
- Matrix HTML: only the tags the renderer writes (``p strong em code ul li a``), ``href`` only on ``<a>``
  and only to a source URL, no other attribute, and the user's text only ever HTML-escaped.
- Console: plain text for the operator's own terminal, where pings and HTML mean nothing; its knowledge
  answers may show no URL but the sources'.

A full ``/source`` answer is longer than Discord's 2,000 characters and is cut mid-link (a known bug, see
``test_full_answer_on_discord_keeps_every_link_whole``): the checks accept a final, cut-off link only if
what is left of its URL is the start of a source URL.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from bot.app import App
from bot.messages import Answer, ClaimAnswer, Command, Message, Reply
from bot.render import console_text, discord_markdown, matrix_message

#: Claims the bot answers with a wide margin (checked with ``python -m bot kb test``).
CLAIMS = (
    "in china they take your dog away if you lose your social credit points",
    "people with low social credit get their internet speed throttled",
)
PAYLOADS = {
    "everyone": "@everyone",
    "here": "@here",
    "user-mention": "<@123>",
    "nick-mention": "<@!123>",
    "role-mention": "<@&456>",
    "channel-mention": "<#789>",
    "markdown-link": "[click](https://evil.example)",
    "angle-link": "<https://evil.example/login>",
    "bare-url": "https://evil.example/free-nitro",
    "masked-link-with-ping": "[@everyone](https://evil.example) **now**",
    "html-link": '<a href="https://evil.example">docs</a>',
    "html-img": '<img src="https://evil.example/x.png" onerror="alert(1)">',
    "html-script": "<script>alert('x')</script>",
    "matrix-pill": '<a href="https://matrix.to/#/@admin:evil.example">admin</a> @room',
    "code-block": "```\n@everyone <script>x</script>\n```",
    "spoiler": "||@everyone|| ||[x](https://evil.example)||",
    "zero-width": "@\u200beveryone @\u200dhere <\u200b@123>",
    "rtl-override": "\u202e@everyone\u202c <\u202e@&456>",
    "escaped-already": "\\@everyone \\<@123> \\[a](https://evil.example)",
    "entity": "&lt;script&gt; &#64;everyone &amp;",
    "quote-attr": "\" onmouseover=\"alert(1)",
    "terminal-escape": "\x1b[2J\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
}
MASS_MENTION = re.compile(r"@(everyone|here)")
MENTION = re.compile(r"<[@#][!&]?\d*")
URL = re.compile(r"https?://", re.I)
ALLOWED_TAGS = {"p", "strong", "em", "code", "ul", "li", "a"}
CUT_LINK = re.compile(r"\[[^\[]*\]\(<([^>]*)…$")


def _source_urls(app: App) -> set[str]:
    return {str(source.url) for source in app.engine.kb.sources.values()}


class _Tags(HTMLParser):
    """Every start tag with its attributes, from Matrix formatted_body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def check_discord(text: str, allowed_urls: set[str]) -> None:
    """No ping, no mention syntax, no link or URL except the knowledge base's sources, no raw user '<'."""
    assert not MASS_MENTION.search(text), text
    assert not MENTION.search(text), text
    rest = text
    cut = CUT_LINK.search(rest)
    if cut and any(url.startswith(cut.group(1)) for url in allowed_urls):
        rest = rest[: cut.start()]
    for url in allowed_urls:
        rest = rest.replace(f"](<{url}>)", "]")
    assert "](" not in rest, f"a Markdown link that is not a source: {text!r}"
    assert not URL.search(rest), f"a live URL that is not a source: {text!r}"
    assert "<" not in rest.replace("<\u200b", ""), f"an unescaped '<': {text!r}"


def check_matrix(formatted: str, allowed_urls: set[str], user_text: str) -> None:
    """Only the renderer's own tags; href only on <a>, only to a source; user text only escaped."""
    parser = _Tags()
    parser.feed(formatted)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, f"<{tag}> in {formatted!r}"
        for name, value in attrs:
            assert tag == "a" and name == "href", f"<{tag} {name}=...> in {formatted!r}"
            assert value in allowed_urls, f"a link that is not a source: {value!r}"
    if any(c in user_text for c in "<>&\""):
        assert user_text not in formatted, f"user text unescaped in HTML: {formatted!r}"


def check_console(answer: Answer, text: str, allowed_urls: set[str]) -> None:
    """A knowledge answer in the terminal shows no URL but its sources'."""
    if isinstance(answer, ClaimAnswer):
        for url in allowed_urls:
            text = text.replace(url, "")
        assert not URL.search(text), text


def check_all(answer: Answer, app: App, user_text: str) -> None:
    urls = _source_urls(app)
    check_discord(discord_markdown(answer), urls)
    body, formatted = matrix_message(answer)
    assert isinstance(body, str)
    check_matrix(formatted, urls, user_text)
    check_console(answer, console_text(answer), urls)


async def _answers_for(app: App, payload: str) -> list[tuple[str, Answer]]:
    """Every answer the engine gives when ``payload`` is quoted, searched, explained or used as a command."""
    answers: list[tuple[str, Answer]] = []
    variants = [(f"{payload} {claim} {payload}", False) for claim in CLAIMS]
    variants += [(f"{payload} {CLAIMS[0]}", False), (f"{CLAIMS[1]} {payload}", True)]  # True: addressed to the bot
    for n, (text, addressed) in enumerate(variants):
        msg = Message(platform="test", channel_id=f"chan{n}", author_id=f"mallory{n}", message_id=f"m{n}",
                      text=text, timestamp=1_700_000_000.0 + n, addressed_to_bot=addressed)
        for action in await app.engine.handle_message(msg):
            if isinstance(action, Reply):
                answers.append(("reply", action.answer))

    def command(name: str, args: str, moderator: bool = False, target: str | None = None) -> Command:
        return Command(name=name, args=args, platform="test", channel_id="chan0", author_id="mallory",
                       timestamp=1_700_000_100.0, is_moderator=moderator, target_message_id=target)

    for label, cmd in [
        ("source", command("source", payload)),
        ("source-known", command("source", f"{payload} sesame credit")),
        ("explain-unknown", command("explain", payload)),
        ("explain-known", command("explain", "", target="m0")),
        ("explain-target", command("explain", "", target=payload)),
        ("unknown-command", command(payload, "")),
        ("unknown-command-prefixed", command(f"x{payload}", payload)),
        ("test", command("test", f"{payload} {CLAIMS[0]}", moderator=True)),
        ("claims", command("claims", payload)),
        ("settings", command("settings", payload, moderator=True)),
    ]:
        answers.append((label, await app.engine.handle_command(cmd)))
    return answers


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
async def test_quoted_payload_never_pings_links_or_injects_html(app: App, payload: str) -> None:
    """Hostile text around a claim and in every echoing command renders defused on every platform."""
    answers = await _answers_for(app, payload)
    kinds = [label for label, _ in answers]
    assert "reply" in kinds, "the claim was not answered, so the reply path went unchecked"
    for label, answer in answers:
        try:
            check_all(answer, app, payload)
        except AssertionError as exc:
            raise AssertionError(f"{label}: {exc}") from None


async def test_echoing_commands_really_echo_the_payload(app: App) -> None:
    """The commands checked above do put user text in their answers (so the checks are not vacuous)."""
    marker = "zqxmarker"
    echoed = {label for label, answer in await _answers_for(app, marker)
              if marker in console_text(answer)}
    assert {"source", "explain-unknown", "explain-target", "unknown-command"} <= echoed, echoed


async def test_every_knowledge_entry_renders_only_its_own_source_links(app: App) -> None:
    """Full answers for every entry link only to sources.yaml and contain no ping or stray HTML."""
    for claim in app.engine.kb.claims.values():
        answer = app.engine.answer_for(claim, full=True)
        assert isinstance(answer, ClaimAnswer)
        check_all(answer, app, "")
        _, formatted = matrix_message(answer)
        linked = {html.unescape(m) for m in re.findall(r'href="([^"]*)"', formatted)}
        assert linked == {str(s.url) for s in answer.sources}, claim.id


async def test_full_answer_on_discord_keeps_every_link_whole(app: App) -> None:
    """A /source answer on Discord drops whole sources to fit 2,000 characters, never cuts a link in half."""
    broken = []
    for claim in app.engine.kb.claims.values():
        text = discord_markdown(app.engine.answer_for(claim, full=True))
        assert len(text) <= 2000
        if CUT_LINK.search(text) or text.count("](<") != text.count(">)"):
            broken.append(claim.id)
    assert not broken, f"{len(broken)} of {len(app.engine.kb.claims)} entries end in a cut link: {broken[:5]}"


@pytest.mark.parametrize("payload", [p for k, p in PAYLOADS.items() if k != "zero-width"],
                         ids=[k for k in PAYLOADS if k != "zero-width"])
def test_checks_reject_each_payload_left_unescaped(payload: str) -> None:
    """The checks above catch every payload if a renderer ever passed it through as is (zero-width is inert)."""
    caught = 0
    for check in (lambda: check_discord(payload, set()), lambda: check_matrix(f"<p>{payload}</p>", set(), payload)):
        try:
            check()
        except AssertionError:
            caught += 1
    assert caught, f"no check objects to {payload!r}"
