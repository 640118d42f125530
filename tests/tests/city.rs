//! The city scenario at a small size (issue 16): worker handsets and a supervisor holding
//! every grid work offline, reconnect at once to a real relay process, and converge; the
//! scenario itself checks documents and heads on every handset and the relay.

use gridsync_tests::bench::city;
use gridsync_tests::bench::city_plan::CityConfig;
use gridsync_tests::relay_process::relay_binary;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_city_converges_after_everyone_reconnects_at_once() -> anyhow::Result<()> {
    let exe = relay_binary()?;
    let config = CityConfig::tiny(11);
    let f = city::run(&exe, config, &|_| {}).await?;
    // Every handset's pushes, and the supervisor's edits reaching the workers, moved
    // something; the run ended with a round that moved nothing.
    assert!(f.rounds >= 2, "{f:?}");
    // The supervisor pulled every visit and case of every grid, and the edits.
    let field = (config.grids * config.days as usize)
        * (config.visits_per_grid_day + config.cases_per_grid_day);
    assert!(f.supervisor_documents as usize >= field, "{f:?}");
    assert!(f.bytes_up > 0 && f.bytes_down > 0, "{f:?}");
    Ok(())
}
