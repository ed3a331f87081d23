//! The demo's ports on 127.0.0.1, from `--base-port` B:
//!
//! | B | B+1, B+2 | B+3, B+4 | B+10, B+11 |
//! |---|---|---|---|
//! | ZooKeeper | rm1 admin, web | rm2 admin, web | controller rm1, rm2 admin API |
//!
//! A port that is taken is replaced by the next free one above it (so a second demo, or
//! anything else on these ports, shifts the layout instead of failing).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use anyhow::bail;

/// How far above its place in the layout a port may be moved.
const MAX_SHIFT: u16 = 100;
/// Base ports accepted: unprivileged, and room above for the layout and its shifts.
const BASE_RANGE: std::ops::RangeInclusive<u16> = 1024..=u16::MAX - 2 * MAX_SHIFT;

#[derive(Debug, Clone)]
pub struct Ports {
    pub zk: SocketAddr,
    pub rm_admin: [SocketAddr; 2],
    pub rm_web: [SocketAddr; 2],
    pub controller_admin: [SocketAddr; 2],
}

impl Ports {
    pub fn plan(base: u16) -> anyhow::Result<Ports> {
        if !BASE_RANGE.contains(&base) {
            bail!("--base-port {base}: choose a port between {} and {}", BASE_RANGE.start(), BASE_RANGE.end());
        }
        let mut chosen = Vec::new();
        let mut pick = |offset: u16| -> anyhow::Result<SocketAddr> {
            let wanted = base + offset;
            for port in wanted..wanted + MAX_SHIFT {
                if !chosen.contains(&port) && TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    chosen.push(port);
                    return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
                }
            }
            bail!("no free port on 127.0.0.1 in {wanted}..{}: pick other ports with --base-port", wanted + MAX_SHIFT)
        };
        // In layout order, so that a shifted port pushes only the ones after it.
        let zk = pick(0)?;
        let (admin1, web1, admin2, web2) = (pick(1)?, pick(2)?, pick(3)?, pick(4)?);
        let controller_admin = [pick(10)?, pick(11)?];
        Ok(Ports { zk, rm_admin: [admin1, admin2], rm_web: [web1, web2], controller_admin })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_moves_to_the_next_free_one() {
        // Find a base whose first two ports are free, then occupy the first.
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let taken = listener.local_addr().expect("addr").port();
        if !BASE_RANGE.contains(&taken) {
            return;
        }
        let p = Ports::plan(taken).expect("plan");
        assert_ne!(p.zk.port(), taken);
        let all = [
            p.zk,
            p.rm_admin[0],
            p.rm_admin[1],
            p.rm_web[0],
            p.rm_web[1],
            p.controller_admin[0],
            p.controller_admin[1],
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| b != a), "port {a} handed out twice in {p:?}");
        }
    }

    #[test]
    fn base_out_of_range_is_refused() {
        assert!(Ports::plan(80).is_err());
        assert!(Ports::plan(65_500).is_err());
    }
}
