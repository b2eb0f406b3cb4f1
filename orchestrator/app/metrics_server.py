"""`/metrics` for Prometheus: the orchestrator's own series (orchestrator/metrics.py) and the
signer's decision counts, fetched from the signer over its socket at each scrape (the signer
opens no port). Served on `[telemetry] metrics_listen`, with the API's TLS certificate when
one is set, and with a bearer token when `metrics_token_file` is set."""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl

import grpc
from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

import orchestrator.metrics  # noqa: F401 - the series this endpoint serves, registered on import
from corral.v1 import signer_pb2
from orchestrator.actions.signer_client import SignerClient
from orchestrator.config import OrchestratorConfig, split_listen

log = logging.getLogger("corral.orchestrator.metrics")
# Prometheus scrapes one at a time per target; a few at once leaves room for a second scraper.
MAX_CONCURRENT_SCRAPES = 4


class _SignerDecisions:
    """One scrape's signer figures, as a collector of a registry made for that scrape."""

    def __init__(self, answer: signer_pb2.GetDecisionCountsResponse | None) -> None:
        self._answer = answer

    def collect(self):
        up = GaugeMetricFamily("corral_signer_up", "Whether the signer answered this scrape (1) or not (0).")
        up.add_metric([], 1 if self._answer is not None else 0)
        yield up
        if self._answer is None:
            return
        started = GaugeMetricFamily("corral_signer_start_time_seconds", "When the signer process started (its counts start from it).")
        started.add_metric([], self._answer.started_at)
        yield started
        decisions = CounterMetricFamily(
            "corral_signer_decisions", "Decisions the signer wrote to its audit log since it started, by action, decision "
            "(allow, deny, error) and the rule that decided.", labels=["action", "decision", "rule"],
        )
        for count in self._answer.counts:
            decisions.add_metric([count.action, count.decision, count.rule], count.count)
        yield decisions


async def exposition(signer: SignerClient) -> bytes:
    """The text Prometheus reads: this process's registry, then the signer's figures."""
    try:
        answer: signer_pb2.GetDecisionCountsResponse | None = await signer.decision_counts()
    except grpc.aio.AioRpcError as exc:
        log.warning("the signer did not answer for /metrics: %s", exc.code().name)
        answer = None
    except Exception as exc:  # noqa: BLE001 - a closed channel, anything: the scrape goes on without it
        log.warning("the signer could not be asked for /metrics: %s", type(exc).__name__)
        answer = None
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_SignerDecisions(answer))
    return generate_latest(REGISTRY) + generate_latest(scrape)


class MetricsServer:
    def __init__(self, runner: web.AppRunner) -> None:
        self._runner = runner

    @classmethod
    async def start(cls, config: OrchestratorConfig, signer: SignerClient) -> MetricsServer:
        listen = config.telemetry.metrics_listen
        assert listen is not None
        expected = f"Bearer {token}".encode() if (token := config.telemetry.metrics_token()) else None
        scrapes = asyncio.Semaphore(MAX_CONCURRENT_SCRAPES)

        async def metrics(request: web.Request) -> web.Response:
            # Header bytes as sent (surrogateescape keeps any byte comparable; nothing to fail on).
            supplied = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
            if expected is not None and not hmac.compare_digest(supplied, expected):
                return web.Response(status=401, text="send the bearer token of [telemetry] metrics_token_file\n",
                                    headers={"WWW-Authenticate": "Bearer"})
            if scrapes.locked():  # each scrape asks the signer: a flood of them must not
                return web.Response(status=503, text="too many scrapes at once; retry\n", headers={"Retry-After": "1"})
            async with scrapes:
                return web.Response(body=await exposition(signer), headers={"Content-Type": CONTENT_TYPE_LATEST})

        app = web.Application(client_max_size=1024)  # a scrape is a GET: nothing to read
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        host, port = split_listen(listen)
        tls = None
        if config.tls_cert_file is not None:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(config.tls_cert_file, config.tls_key_file)
        await web.TCPSite(runner, host.strip("[]"), int(port), ssl_context=tls).start()
        print(f"metrics on {'https' if tls else 'http'}://{listen}/metrics", flush=True)
        return cls(runner)

    async def stop(self) -> None:
        await self._runner.cleanup()
