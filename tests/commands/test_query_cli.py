"""`clycyo query`: the same spec from flags or a file, as a table or JSON, with or without a
server running on the data folder."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import uuid
from pathlib import Path

from clycyo.cli import main
from tests.serverproc import ServerProcess, Site, as_a_plain_user, clycyo, free_port, run_clycyo
from tests.small_world import CHROME, day_start

DAY = day_start().date().isoformat()


def _events(domain: str) -> list[dict[str, object]]:
    at = int((day_start() + dt.timedelta(hours=1)).timestamp() * 1000)
    return [
        {
            "type": "pageview",
            "origin": "browser",
            "visitor_id": f"v{n}",
            "event_id": uuid.uuid4().hex,
            "url": f"https://{domain}/{'pricing' if n % 2 else ''}",
            "timestamp": at + n,
            "context": {"user_agent": CHROME},
        }
        for n in range(3)
    ]


class Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _run(*args: str, data: Path) -> Ran:
    """The command in this process (`clycyo.cli.main`), its output captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["query", *args, "--data", str(data)])
    return Ran(code, out.getvalue(), err.getvalue())


def test_query_through_a_running_server_and_without_one(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    server = own_server.start()
    site = server.add_site("cli.test")
    status, _ = site.post("/api/collect", {"batch": _events(site.site)}, secret=True)
    assert status == 200
    flags = [
        "--site",
        site.site,
        "--metrics",
        "visitors,pageviews",
        "--dimensions",
        "event:page",
        "--from",
        DAY,
        "--to",
        DAY,
    ]
    expected = [
        "event:page  visitors  pageviews",
        "----------  --------  ---------",
        "/                  2          2",
        "/pricing           1          1",
    ]
    table = _run(*flags, "--key", site.secret_key, data=server.data_dir)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines() == expected
    # Without a key, the server's admin token in the data folder is used.
    keyless = _run(*flags, data=server.data_dir)
    assert keyless.returncode == 0, keyless.stderr
    assert keyless.stdout.splitlines() == expected
    wrong = _run(*flags, "--key", "sk_wrong", data=server.data_dir)
    assert wrong.returncode == 1 and "unknown or revoked key" in wrong.stderr
    # Another address gets no admin token: it needs a key.
    refused = _run(*flags, "--url", server.url, data=server.data_dir)
    assert refused.returncode == 2 and "--key" in refused.stderr
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps({"site": site.site, "metrics": ["visits"], "date_range": [DAY, DAY]})
    )
    answer = _run(
        "--spec",
        str(spec),
        "--json",
        "--url",
        server.url,
        "--key",
        site.secret_key,
        data=tmp_path / "elsewhere",
    )
    assert json.loads(answer.stdout)["results"] == [{"dimensions": [], "metrics": [3]}]
    server.stop()
    # No server: the command opens the data folder itself.
    offline = _run(*flags, "--filter", "is event:page /pricing", "--json", data=server.data_dir)
    assert offline.returncode == 0, offline.stderr
    assert json.loads(offline.stdout)["results"] == [
        {"dimensions": ["/pricing"], "metrics": [1, 1]}
    ]
    bad = _run("--site", site.site, "--metrics", "nope", data=server.data_dir)
    assert bad.returncode == 1 and "metrics[0]: unknown metric 'nope'" in bad.stderr
    # And as a user types it, in a process of its own.
    listed = clycyo(
        "query",
        "--site",
        site.site,
        "--metrics",
        "visitors",
        "--from",
        DAY,
        "--to",
        DAY,
        data=server.data_dir,
    )
    assert listed.splitlines()[-1].strip() == "3"


def test_the_admin_token_queries_only_through_the_admin_endpoint(
    own_server: ServerProcess,
) -> None:
    server = own_server.start()
    site = server.add_site("admin-reads.test")
    token = (server.data_dir / "admin.token").read_text().strip()
    spec = {"site": site.site, "metrics": ["visitors"]}
    status, answer = server.post("/api/admin/query", spec, bearer=token)
    assert status == 200 and answer["meta"]["site"] == site.site, answer
    # The sites' own read endpoints do not take it, and the admin one takes nothing else.
    assert server.post("/api/v1/query", spec, bearer=token)[0] == 401
    assert server.post("/api/admin/query", spec, bearer=site.secret_key)[0] == 401
    status, answer = server.post("/api/admin/query", {**spec, "site": "nowhere.test"}, bearer=token)
    assert (status, answer) == (404, {"error": "no site nowhere.test"})
    # A body nested past the JSON reader's depth is a 400 on every admin endpoint taking JSON.
    deep = b"[" * 20_000 + b"]" * 20_000
    for path in ("/api/admin/query", "/api/admin/backup", "/api/admin/export"):
        status, answer = server.post(path, deep, bearer=token)
        assert (status, answer) == (400, {"error": "body: JSON nested too deeply"}), path


def test_an_unknown_site_is_told_as_export_and_import_tell_it(own_server: ServerProcess) -> None:
    own_server.add_site("known.test")
    for serving in (False, True):
        if serving:
            own_server.start()
        ran = run_clycyo("query", "--site", "nope.test", data=own_server.data_dir)
        exported = run_clycyo(
            "export", "--site", "nope.test", "--out", str(own_server.data_dir / "x.csv"),
            data=own_server.data_dir,
        )  # fmt: skip
        assert (ran.returncode, ran.stderr) == (1, "clycyo: no site nope.test\n"), serving
        assert (ran.returncode, ran.stderr) == (exported.returncode, exported.stderr)
        assert ran.stdout == ""


def test_a_server_whose_token_cannot_be_read_asks_for_a_key(own_server: ServerProcess) -> None:
    server = own_server.start()
    # As another user than the server's, who may not read its token file.
    (server.data_dir / "admin.token").chmod(0)
    ran = run_clycyo("query", "--site", "shop.test", data=server.data_dir, prefix=as_a_plain_user())
    assert ran.returncode == 2, ran.stderr
    assert "admin token cannot be read" in ran.stderr and "--key" in ran.stderr


def test_compare_puts_the_previous_period_in_the_table(server: Site, tmp_path: Path) -> None:
    assert server.post("/api/collect", {"batch": _events(server.site)}, secret=True)[0] == 200
    flags = ["--site", server.site, "--metrics", "visitors,bounce_rate", "--date-range", "7d"]
    remote = ["--url", server.url, "--key", server.secret_key]
    table = _run(*flags, "--compare", *remote, data=tmp_path)
    assert table.returncode == 0, table.stderr
    header, _, row, period = table.stdout.splitlines()
    assert [cell.strip() for cell in header.split("  ") if cell.strip()] == [
        "visitors",
        "visitors before",
        "change",
        "bounce_rate",
        "bounce_rate before",
        "change",
    ]
    assert row.split() == ["3", "0", "-", "100.0", "-", "-"]  # no visit before: no change
    assert period.startswith("(before: ") and " to " in period
    plain = _run(*flags, *remote, data=tmp_path).stdout.splitlines()
    assert plain[0].split() == ["visitors", "bounce_rate"]


def test_compare_takes_the_year_before_or_days_of_ones_own(server: Site, tmp_path: Path) -> None:
    assert server.post("/api/collect", {"batch": _events(server.site)}, secret=True)[0] == 200
    flags = ["--site", server.site, "--metrics", "visitors", "--from", "2026-03-01", "--to"]
    remote = ["--url", server.url, "--key", server.secret_key]
    year = _run(*flags, "2026-03-02", "--compare", "year", *remote, data=tmp_path)
    assert year.returncode == 0, year.stderr
    assert year.stdout.splitlines()[-1] == (
        "(before: 2025-03-01T00:00:00Z to 2025-03-03T00:00:00Z)"
    )
    days = ["--compare", "2025-12-24,2025-12-26", "--json"]
    custom = _run(*flags, "2026-03-02", *days, *remote, data=tmp_path)
    assert custom.returncode == 0, custom.stderr
    answer = json.loads(custom.stdout)
    assert answer["meta"]["comparison_date_range"][0] == "2025-12-24T00:00:00Z"
    wrong = _run(*flags, "2026-03-02", "--compare", "lastyear", *remote, data=tmp_path)
    assert wrong.returncode == 2
    assert wrong.stderr == "clycyo: --compare 'lastyear': expected previous, year or FIRST,LAST\n"


def test_query_mistakes_are_told_in_the_command_lines_terms(tmp_path: Path) -> None:
    remote = ["--url", f"http://127.0.0.1:{free_port()}", "--key", "ct_x"]
    order = _run("--site", "a.test", "--order-by", "events", *remote, data=tmp_path)
    assert order.returncode == 2
    assert order.stderr == "clycyo: --order-by 'events': expected NAME:desc or NAME:asc\n"
    empty = _run("--site", "a.test", "--compare=", *remote, data=tmp_path)  # not left out
    assert empty.returncode == 2
    assert empty.stderr == "clycyo: --compare '': expected previous, year or FIRST,LAST\n"
    unreachable = _run("--site", "a.test", "--metrics", "events", *remote, data=tmp_path)
    assert unreachable.returncode == 1
    assert unreachable.stderr == (
        f"clycyo: cannot reach {remote[1]}/api/v1/query: [Errno 111] Connection refused\n"
    )
    spec = run_clycyo("query", "--spec", "-", *remote, data=tmp_path, stdin="site=a.test")
    assert spec.returncode == 2
    assert spec.stderr.startswith("clycyo: --spec: standard input is not JSON (Expecting value")


def test_a_spec_file_that_cannot_be_read_is_named_as_import_names_its_file(
    tmp_path: Path,
) -> None:
    remote = ["--url", f"http://127.0.0.1:{free_port()}", "--key", "ct_x"]
    missing = tmp_path / "missing.json"
    unreadable = tmp_path / "spec.json"
    unreadable.write_text('{"site": "a.test"}')
    unreadable.chmod(0)
    for path, told, prefix in (
        (missing, "no such file", []),
        (tmp_path, "a folder, not a file", []),
        (unreadable, "cannot read it (permission denied)", as_a_plain_user()),
    ):
        ran = run_clycyo("query", "--spec", str(path), *remote, data=tmp_path, prefix=prefix)
        assert ran.returncode == 2
        assert ran.stderr == f"clycyo: {path}: {told}\n"


def test_a_change_reads_as_percent_or_as_points_for_a_percentage() -> None:
    from clycyo.commands.query import render_table

    answer = {
        "results": [
            {
                "dimensions": ["google"],
                "metrics": [135, 40.0],
                "comparison": {
                    "dimensions": ["google"],
                    "metrics": [120, 43.0],
                    "change": [12.5, -3.0],
                },
            }
        ],
        "meta": {"comparison_date_range": ["2026-11-01T00:00:00Z", "2026-11-07T23:59:59Z"]},
    }
    spec = {"metrics": ["visitors", "bounce_rate"], "dimensions": ["visit:source"]}
    lines = render_table(spec, answer).splitlines()
    assert lines[2].split() == ["google", "135", "120", "+12.5%", "40.0", "43.0", "-3", "pt"]
    assert lines[3] == "(before: 2026-11-01T00:00:00Z to 2026-11-07T23:59:59Z)"
