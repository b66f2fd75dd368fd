//! Prometheus metrics, rendered in the text exposition format at `GET /metrics`.
//!
//! Request counters are updated as requests finish; the log's head, the writer's batching and
//! the projections' progress are read at scrape time, so they are never stale.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use eventstore::EventStore;
use projections::Projections;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
}

impl Metrics {
    pub fn new(store: EventStore, projections: Arc<Projections>) -> Self {
        let mut registry = Registry::with_prefix("tenancy");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
        });
        registry.register("http_request_duration_seconds", "HTTP request latency", latency.clone());
        registry.register_collector(Box::new(LogCollector { store, projections }));
        Self { registry, requests, latency }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let route = route.to_owned();
        let method = method.to_owned();
        self.requests.get_or_create(&RequestLabels { method: method.clone(), route: route.clone(), status }).inc();
        self.latency.get_or_create(&RouteLabels { method, route }).observe(elapsed.as_secs_f64());
    }

    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[derive(Debug)]
struct LogCollector {
    store: EventStore,
    projections: Arc<Projections>,
}

impl Collector for LogCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let head = self.store.known_head();
        let gauge = ConstGauge::new(head as i64);
        gauge.encode(encoder.encode_descriptor(
            "log_head_position",
            "Highest committed position",
            None,
            gauge.metric_type(),
        )?)?;

        let stats = self.store.stats();
        for (name, help, value) in [
            ("event_store_batches", "Group-commit transactions", &stats.batches),
            ("event_store_appends", "Appends committed (each one command)", &stats.appends),
            ("event_store_events", "Events committed", &stats.events),
            (
                "event_store_batches_from_known",
                "Group commits planned from what the writer knew, without reading the log first",
                &stats.from_known,
            ),
        ] {
            let counter = ConstCounter::new(value.load(Ordering::Relaxed));
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }

        let statuses = self.projections.status();
        let gauges: [(&str, &str, GaugeOf); 3] = [
            ("projection_checkpoint", "Last position applied by the projection", |_, s| s.checkpoint as i64),
            ("projection_lag", "Events the projection is behind the log", |head, s| {
                head.saturating_sub(s.checkpoint) as i64
            }),
            ("projection_failing", "1 while the projection is retrying a failing event", |_, s| {
                i64::from(s.failure.is_some())
            }),
        ];
        for (name, help, value) in gauges {
            let mut family =
                encoder.encode_descriptor(name, help, None, prometheus_client::metrics::MetricType::Gauge)?;
            for status in &statuses {
                let labels = [("projection", status.name.as_str())];
                ConstGauge::new(value(head, status)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// Reads one gauge's value off a projection's status, given the log's head.
type GaugeOf = fn(u64, &projections::ProjectionStatus) -> i64;
