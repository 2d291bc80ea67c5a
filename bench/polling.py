"""What watching a job costs: the bench's polling measurement."""

from __future__ import annotations

from bench.client import download, new_token, run_import
from bench.files import make_noisy_csv
from bench.procs import api_cpu_s
from bench.shapes import Shape


def measure_polling(api: str, database_url: str, biggest: int, seed: int) -> None:
    # What watching a job costs: a file with tens of thousands of warnings and thousands
    # of errors, each run into a fresh OU, watched in the database only or by a client
    # polling the job detail every 0.2 s (a progress bar: counters, percent, the recent
    # rate and time left) and downloading results.csv once the job completed; in the
    # order unpolled, polled, polled, unpolled (A B B A, one after the other), so that
    # a host drifting during the runs evens out. The downloads come after the job
    # completed and the relay drained: they are timed on their own, not in the rate.
    noisy = make_noisy_csv(biggest, seed)
    rate_p: dict[bool, list[float]] = {False: [], True: []}
    downloads: list[tuple[float, int, int, float]] = []
    api_cpu: dict[bool, list[float]] = {False: [], True: []}
    polls: list[tuple[int, int, int]] = []
    last: tuple[str, str] = ("", "")  # (token, job id) of the last polled run
    for i, polled in enumerate((False, True, True, False)):
        token_i = new_token(database_url, f"bench-poll-{i}")
        _, elapsed, detail = run_import(
            api,
            token_i,
            database_url,
            Shape("noisy", noisy),
            poll_api=polled,
            download_results=polled,
        )
        rate_p[polled].append(biggest / elapsed)
        api_cpu[polled].append(detail["api_cpu_s"])
        if polled:
            downloads.append(detail["results_csv"])
            polls.append(detail["polls"])
            last = (token_i, detail["job_id"])
    unpolled, polled_rate = (sum(rate_p[k]) / 2 for k in (False, True))
    # errors.csv once (it reads the upload too), of the last polled job.
    cpu = api_cpu_s()
    errors_csv = download(f"{api}/leads/import/jobs/{last[1]}/errors.csv", last[0])
    errors_cpu = api_cpu_s() - cpu
    print(
        f"import_polled rows={biggest} warnings={detail['warnings_total']}"
        f" errors={detail['errors_total']} rows_per_s_unpolled={unpolled:.0f}"
        f" rows_per_s_polled_0.2s={polled_rate:.0f}"
        f" ratio_polled_to_unpolled={polled_rate / unpolled:.3f}"
        f" runs: unpolled {' '.join(f'{r:.0f}' for r in rate_p[False])},"
        f" polled {' '.join(f'{r:.0f}' for r in rate_p[True])}"
        f" (order: unpolled polled polled unpolled)"
        f" api_cpu_s: unpolled {' '.join(f'{s:.2f}' for s in api_cpu[False])},"
        f" polled {' '.join(f'{s:.2f}' for s in api_cpu[True])}"
        f" polls={'/'.join(str(p[0]) for p in polls)}"
        f" polls_with_rate_and_eta={'/'.join(str(p[1]) for p in polls)}"
        f" percent_went_back={sum(p[2] for p in polls)}"
        f" results_csv_s={'/'.join(f'{d[0]:.2f}' for d in downloads)}"
        f" results_csv_mb={downloads[-1][1] / 1e6:.1f}"
        f" results_csv_lines={downloads[-1][2]}"
        f" results_csv_api_cpu_s={'/'.join(f'{d[3]:.2f}' for d in downloads)}"
        f" errors_csv_s={errors_csv[0]:.2f} errors_csv_mb={errors_csv[1] / 1e6:.1f}"
        f" errors_csv_lines={errors_csv[2]} errors_csv_api_cpu_s={errors_cpu:.2f}",
        flush=True,
    )
