"""`python -m bot.simulator` / `dreambot-simulator`: serve the simulator until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from .runner import run_simulator
from .state import SimulatorConfig


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    d = SimulatorConfig()
    p = argparse.ArgumentParser(prog="dreambot-simulator",
                                description="Local simulator of the AI/ML API's Luma video endpoints, the model "
                                            "catalogue and the usage logs.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787, help="0 picks a free port (default %(default)s)")
    p.add_argument("--time-scale", type=_positive, default=d.time_scale,
                   help="multiplies every duration; 0.01 runs 100x faster (default %(default)s)")
    p.add_argument("--queue-seconds", type=float, default=d.queue_seconds)
    p.add_argument("--run-seconds", type=float, default=d.run_seconds)
    p.add_argument("--run-jitter", type=_rate, default=d.run_jitter, help="+/- fraction of run time")
    p.add_argument("--max-wait-seconds", type=float, default=d.max_wait_seconds, help="luma-v2 state= wait limit")
    p.add_argument("--api-key", action="append", dest="api_keys", metavar="KEY",
                   help="a valid key (repeatable); without any, every non-empty key is accepted")
    p.add_argument("--credits", type=int, default=None, help="starting balance of every key (default unlimited)")
    p.add_argument("--cost", type=int, default=d.cost_per_generation,
                   help="credits per legacy/luma-v2 create/extend (unified jobs are priced per model)")
    p.add_argument("--credits-used", type=int, default=None, help="reported in meta.usage (default: the cost)")
    p.add_argument("--credits-used-delta", type=int, default=d.credits_used_delta,
                   help="added to every unified job's bill: the provider charging more or less than quoted")
    p.add_argument("--report-credits", choices=("both", "body", "header", "none"), default=d.report_credits,
                   help="where a completed unified job's cost appears (default %(default)s)")
    p.add_argument("--video-base-url", default=d.video_base_url)
    p.add_argument("--fail-marker", default=d.fail_marker, help="prompts containing it fail ('' turns it off)")
    p.add_argument("--failure-reason", default=d.failure_reason)
    p.add_argument("--fail-rate", type=_rate, default=d.fail_rate)
    p.add_argument("--error-rate", type=_rate, default=d.error_rate)
    p.add_argument("--rate-limit-rate", type=_rate, default=d.rate_limit_rate)
    p.add_argument("--retry-after", type=float, default=d.retry_after_seconds, dest="retry_after_seconds")
    p.add_argument("--slow-rate", type=_rate, default=d.slow_rate)
    p.add_argument("--slow-seconds", type=float, default=d.slow_seconds)
    p.add_argument("--accept-then-fail-rate", type=_rate, default=d.accept_then_fail_rate)
    p.add_argument("--lose-answer-rate", type=_rate, default=d.lose_answer_rate,
                   help="creates made and charged, then answered 502, dropped, hung or with an HTML page")
    p.add_argument("--hang-seconds", type=float, default=d.hang_seconds)
    p.add_argument("--logs-delay", type=float, default=d.logs_delay_seconds, dest="logs_delay_seconds",
                   help="seconds before a request shows in GET /v2/logs")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--log-level", default="INFO")
    return p


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    return SimulatorConfig(
        api_keys=frozenset(args.api_keys) if args.api_keys else None,
        default_credits=args.credits,
        cost_per_generation=args.cost,
        credits_used=args.credits_used,
        credits_used_delta=args.credits_used_delta,
        report_credits=args.report_credits,
        queue_seconds=args.queue_seconds,
        run_seconds=args.run_seconds,
        run_jitter=args.run_jitter,
        time_scale=args.time_scale,
        max_wait_seconds=args.max_wait_seconds,
        video_base_url=args.video_base_url,
        fail_marker=args.fail_marker or None,
        failure_reason=args.failure_reason,
        fail_rate=args.fail_rate,
        error_rate=args.error_rate,
        rate_limit_rate=args.rate_limit_rate,
        retry_after_seconds=args.retry_after_seconds,
        slow_rate=args.slow_rate,
        slow_seconds=args.slow_seconds,
        accept_then_fail_rate=args.accept_then_fail_rate,
        lose_answer_rate=args.lose_answer_rate,
        hang_seconds=args.hang_seconds,
        logs_delay_seconds=args.logs_delay_seconds,
        seed=args.seed,
    )


async def serve(config: SimulatorConfig, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # e.g. Windows: Ctrl+C still raises KeyboardInterrupt
            pass
    async with run_simulator(config, host=host, port=port) as (_, url):
        # One line on stdout, flushed: scripts and tests read the address from it.
        print(f"Simulator listening on {url}", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(config_from_args(args), args.host, args.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
