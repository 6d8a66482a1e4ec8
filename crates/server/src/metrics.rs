//! The Prometheus exporter. The layers record through the `metrics` facade; this installs the
//! one recorder a process has, describes every series, and samples at scrape time what is
//! read rather than counted (database pool, job counters).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gatehouse_http::MetricsExposition;
use gatehouse_infrastructure::database::{self, Connection};
use gatehouse_infrastructure::jobs::JobCounters;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Request latency buckets, in seconds: from a cached read to a bcrypt-bound login.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Histograms are buffered until upkeep folds them in; this bounds that buffer under load.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// This process's exposition: the shared exporter plus what this set of components samples.
pub struct PrometheusMetrics {
    handle: PrometheusHandle,
    pool: Connection,
    jobs: Arc<JobCounters>,
}

impl PrometheusMetrics {
    /// The exporter (installed on first use), sampling `pool` and `jobs` at each scrape.
    pub fn new(pool: Connection, jobs: Arc<JobCounters>) -> anyhow::Result<Self> {
        Ok(Self {
            handle: exporter()?,
            pool,
            jobs,
        })
    }

    fn sample(&self) {
        let pool = database::pool_usage(&self.pool);
        metrics::gauge!("gatehouse_db_pool_connections", "state" => "in_use")
            .set(f64::from(pool.open.saturating_sub(pool.idle)));
        metrics::gauge!("gatehouse_db_pool_connections", "state" => "idle")
            .set(f64::from(pool.idle));
        metrics::gauge!("gatehouse_db_pool_max_connections").set(f64::from(pool.max));
        let jobs = self.jobs.read();
        metrics::counter!("gatehouse_jobs_queued_total").absolute(jobs.queued);
        metrics::gauge!("gatehouse_jobs_running").set(jobs.running as f64);
        for (outcome, runs) in [
            ("succeeded", jobs.succeeded),
            ("retried", jobs.retried),
            ("failed", jobs.failed),
        ] {
            metrics::counter!("gatehouse_job_runs_total", "outcome" => outcome).absolute(runs);
        }
    }
}

impl MetricsExposition for PrometheusMetrics {
    fn render(&self) -> String {
        self.sample();
        self.handle.render()
    }
}

/// The process-wide exporter. A process has one recorder; every application built in it
/// (tests build many) renders through the same handle.
fn exporter() -> anyhow::Result<PrometheusHandle> {
    static EXPORTER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    EXPORTER
        .get_or_init(|| install().map_err(|error| format!("{error:#}")))
        .clone()
        .map_err(|error| anyhow::anyhow!("cannot install the metrics exporter: {error}"))
}

fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("gatehouse_http_request_duration_seconds".into()),
            &LATENCY_BUCKETS,
        )?
        .install_recorder()?;
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                upkeep.run_upkeep();
            }
        })?;
    describe();
    metrics::gauge!("gatehouse_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}

/// Help text for every series, here and in the layers that record them.
fn describe() {
    gatehouse_http::describe_metrics();
    gatehouse_application::describe_metrics();
    metrics::describe_gauge!(
        "gatehouse_db_pool_connections",
        "Database pool connections by state (in_use, idle)."
    );
    metrics::describe_gauge!(
        "gatehouse_db_pool_max_connections",
        "Most connections the database pool opens."
    );
    metrics::describe_counter!(
        "gatehouse_jobs_queued_total",
        "Background jobs this process pushed to the queue."
    );
    metrics::describe_gauge!(
        "gatehouse_jobs_running",
        "Background jobs this process is running now."
    );
    metrics::describe_counter!(
        "gatehouse_job_runs_total",
        "Finished job runs in this process, by outcome (succeeded, retried, failed)."
    );
    metrics::describe_gauge!(
        "gatehouse_build_info",
        "Always 1; the version label names the running build."
    );
}
