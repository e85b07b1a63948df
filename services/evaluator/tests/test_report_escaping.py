"""The report shows model output as text: a viewer that renders its Markdown (HTML allowed, as
GitHub and most viewers do) must never run a script or follow a link a model wrote."""

from __future__ import annotations

from evaluator_support import make_evaluator, queued, with_student, wrong_prices
from markdown_it import MarkdownIt

from distillery_evaluator.adapters.fakes import FakeChatClient

HOSTILE = "<script>alert('pwned')</script> <img src=x onerror=alert(1)> [claim](http://evil.example) | x "


def hostile(messages: list[dict]) -> str:
    return HOSTILE + wrong_prices(messages)


async def test_a_script_in_a_model_answer_renders_as_text(repo, request_, tmp_path):
    client = FakeChatClient(with_student(hostile))
    await make_evaluator(repo, client, tmp_path).execute(await queued(repo, request_))

    markdown = (tmp_path / "reports" / "eval-test" / "report.md").read_text()
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)

    assert "<script" not in rendered and "<img" not in rendered
    assert "&lt;script&gt;alert('pwned')&lt;/script&gt;" in rendered
    assert 'href="http://evil.example"' not in rendered
    assert "[claim](http://evil.example)" in rendered
    hallucinated = rendered.split("Hallucinated answers")[1].split("</table>")[0]
    assert all(row.count("<td>") == 5 for row in hallucinated.split("<tr>")[2:])
