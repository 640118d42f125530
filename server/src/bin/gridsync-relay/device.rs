//! `gridsync-relay device …`: enroll, list, show, rescope, revoke, wipe handsets and
//! rotate their tokens, through the running relay's admin socket or, when none runs, on
//! the store itself.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use gridsync_core::ids::GridPath;
use gridsync_core::model::Grants;
use gridsync_server::RelayConfig;
use gridsync_server::admin::{self, AdminRequest, AdminResponse, Caller, Via};
use gridsync_server::export::utc;
use gridsync_server::hub::DeviceStatus;

use crate::DeviceCommand;

/// Runs a device command: through the running relay's admin socket, else on the store.
pub fn device(config: &RelayConfig, cmd: DeviceCommand, json: bool) -> Result<()> {
    let req = match cmd {
        DeviceCommand::Add {
            name,
            worker,
            display_name,
            roles,
            scopes,
        } => AdminRequest::Add {
            name,
            grants: Grants {
                display_name: display_name.unwrap_or_else(|| worker.clone()),
                worker,
                roles,
                scopes: parse_scopes(&scopes)?,
            },
        },
        DeviceCommand::Rescope { device, scopes } => AdminRequest::Rescope {
            device,
            scopes: parse_scopes(&scopes)?,
        },
        DeviceCommand::List => AdminRequest::List,
        DeviceCommand::Revoke { device } => AdminRequest::Revoke { device },
        DeviceCommand::Wipe { device } => AdminRequest::Wipe { device },
        DeviceCommand::Show { device } => AdminRequest::Show { device },
        DeviceCommand::RotateToken { device } => AdminRequest::RotateToken { device },
    };
    let socket = admin::socket_path(&config.data_dir);
    let resp = match admin::request(&socket, &req)? {
        Some(r) => r,
        None => {
            let hub = gridsync_server::open_configured_hub(config, 8).with_context(|| {
                format!("opening the store in {} (a relay is running but its admin socket did not answer?)", config.data_dir.display())
            })?;
            let caller = Caller {
                via: Via::Offline,
                stuck_after: Duration::from_secs(config.stuck_after_hours * 3600),
            };
            admin::execute(&hub, req, caller)
        }
    };
    if json {
        println!("{}", serde_json::to_string(&resp)?);
        if let AdminResponse::Error { .. } = resp {
            std::process::exit(1);
        }
        return Ok(());
    }
    match resp {
        AdminResponse::Enrolled { device, token } => {
            println!(
                "enrolled {} ({}) for worker {} ({}) as {} in {}",
                device.name,
                device.id,
                device.grants.worker,
                device.grants.display_name,
                device.grants.role_names(),
                device.grants.scope_names()
            );
            println!("token {token}");
            println!("(shown once; the relay keeps only its hash)");
        }
        AdminResponse::Devices { devices } => {
            if devices.is_empty() {
                println!("no devices enrolled");
            }
            for d in &devices {
                print_status_line(d);
            }
        }
        AdminResponse::Device { device } => print_status(&device),
        AdminResponse::TokenRotated { device, token } => {
            println!(
                "new token for {} ({}); the old one logs in no more",
                device.name, device.id
            );
            println!("token {token}");
            println!("(shown once; the relay keeps only its hash)");
        }
        AdminResponse::Revoked { device } => println!("revoked {} ({})", device.name, device.id),
        AdminResponse::Rescoped { device } => println!(
            "rescoped {} ({}) to {}; the handset learns at its next contact",
            device.name,
            device.id,
            device.grants.scope_names()
        ),
        AdminResponse::WipeRequested { device } => println!(
            "wipe requested for {} ({}): at its next contact it erases its store; `device list` shows when it has",
            device.name, device.id
        ),
        AdminResponse::Activity { days } => {
            for d in &days {
                println!("{} {} {}", d.day, d.grid, d.changes);
            }
        }
        AdminResponse::Exported { counts } => crate::export::print_counts(&counts),
        AdminResponse::BackedUp { summary } => {
            println!("backed up into {}", summary.file.display())
        }
        AdminResponse::Error { message } => bail!(message),
    }
    Ok(())
}

fn parse_scopes(scopes: &[String]) -> Result<Vec<GridPath>> {
    Ok(scopes
        .iter()
        .map(|s| GridPath::parse(s))
        .collect::<Result<Vec<_>, _>>()?)
}

fn state(d: &DeviceStatus) -> String {
    let dev = &d.device;
    match (dev.wiped_at, dev.revoked_at, dev.wipe_requested_at) {
        (Some(at), _, _) => format!("wiped at {}", utc(at)),
        (None, None, Some(at)) => format!("wipe pending since {}", utc(at)),
        _ if d.stuck => "STUCK".to_string(),
        _ if d.online => "online".to_string(),
        _ => dev.state().to_string(),
    }
}

fn seen(d: &DeviceStatus) -> String {
    d.activity.last_seen.map_or_else(
        || "never seen".to_string(),
        |at| format!("seen {}", utc(at)),
    )
}

fn lag(d: &DeviceStatus) -> String {
    d.lag
        .map_or_else(|| "lag ?".to_string(), |n| format!("lag {n}"))
}

fn print_status_line(d: &DeviceStatus) {
    let dev = &d.device;
    println!(
        "{}  {:<24} {:<8} {:<12} {:<16} {}  {}  {}  {}",
        dev.id,
        dev.name,
        state(d),
        dev.grants.worker,
        dev.grants.role_names(),
        dev.grants.scope_names(),
        seen(d),
        lag(d),
        pending(d),
    );
}

fn pending(d: &DeviceStatus) -> String {
    d.activity
        .pending
        .map_or_else(|| "pending ?".to_string(), |n| format!("pending {n}"))
}

fn print_status(d: &DeviceStatus) {
    let dev = &d.device;
    println!("{} ({})", dev.name, dev.id);
    println!("  state       {}", state(d));
    println!(
        "  worker      {} ({})",
        dev.grants.worker, dev.grants.display_name
    );
    println!("  roles       {}", dev.grants.role_names());
    println!("  scopes      {}", dev.grants.scope_names());
    println!("  enrolled    {}", utc(dev.created_at));
    println!(
        "  last seen   {}",
        d.activity.last_seen.map_or_else(|| "never".into(), utc)
    );
    println!(
        "  app         {}",
        d.activity.agent.as_deref().unwrap_or("?")
    );
    println!(
        "  behind by   {}",
        d.lag.map_or_else(
            || "? (no cursor yet)".into(),
            |n| format!("{n} log entries")
        )
    );
    println!(
        "  outbox      {}",
        d.activity.pending.map_or_else(
            || "? (not reported)".into(),
            |n| format!("{n} changes waiting at its last contact")
        )
    );
    println!("  refused     {} changes", d.activity.refused);
    if let Some(e) = &d.activity.last_error {
        println!("  last error  {e}");
    }
}
