//! Per-CPU counters summed up, as `ipvsadm -L -n --stats` shows them.

use crate::error::Result;
use crate::maps::Maps;
use aya::maps::{MapData, PerCpuArray, PerCpuValues};
use lb_common::{global_stat, Counters};

fn sum(map: &PerCpuArray<MapData, Counters>, index: u32) -> Result<Counters> {
    let mut total = Counters::default();
    for c in map.get(&index, 0)?.iter() {
        total.conns += c.conns;
        total.packets_in += c.packets_in;
        total.bytes_in += c.bytes_in;
        total.packets_out += c.packets_out;
        total.bytes_out += c.bytes_out;
    }
    Ok(total)
}

pub fn service(maps: &Maps, service_id: u32) -> Result<Counters> {
    sum(&maps.service_stats, service_id)
}

pub fn real(maps: &Maps, real_id: u32) -> Result<Counters> {
    sum(&maps.real_stats, real_id)
}

/// The program-wide counters, indexed by `lb_common::global_stat`.
pub fn global(maps: &Maps) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    for i in 0..global_stat::COUNT {
        out.push(maps.global_stats.get(&i, 0)?.iter().sum());
    }
    Ok(out)
}

fn zero_entry(map: &mut PerCpuArray<MapData, Counters>, index: u32) -> Result<()> {
    let cpus = aya::util::nr_cpus().map_err(|(_, e)| e)?;
    let zeros = PerCpuValues::try_from(vec![Counters::default(); cpus])?;
    map.set(index, zeros, 0)?;
    Ok(())
}

/// `ipvsadm -Z`: zeroes a service and its real servers' counters.
pub fn zero(maps: &mut Maps, service_id: u32, real_ids: &[u32]) -> Result<()> {
    zero_service(maps, service_id)?;
    for &id in real_ids {
        zero_real(maps, id)?;
    }
    Ok(())
}

pub fn zero_service(maps: &mut Maps, service_id: u32) -> Result<()> {
    zero_entry(&mut maps.service_stats, service_id)
}

pub fn zero_real(maps: &mut Maps, real_id: u32) -> Result<()> {
    zero_entry(&mut maps.real_stats, real_id)
}
