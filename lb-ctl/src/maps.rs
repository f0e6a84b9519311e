//! Typed handles on the balancer's maps, opened either from a freshly
//! loaded object or from the pins of a running instance. The layouts come
//! from lb-common, the only place they are defined.

use crate::error::{LbError, Result};
use aya::maps::{Array, DevMapHash, HashMap, Map, MapData, PerCpuArray};
use aya::Ebpf;
use lb_common::{
    maps as names, ConnEntry, Counters, FlowKey, LbConfig, NatReply, PersistEntry, PersistKey,
    RealConnCounts, RealServer, ServiceInfo, ServiceKey, ServiceReals, ServiceState,
};
use std::path::Path;

pub struct Maps {
    pub services: HashMap<MapData, ServiceKey, ServiceInfo>,
    pub vips: HashMap<MapData, u32, u32>,
    pub service_reals: Array<MapData, ServiceReals>,
    pub rings: Array<MapData, u32>,
    pub reals: Array<MapData, RealServer>,
    pub real_conn_counts: Array<MapData, RealConnCounts>,
    pub service_state: Array<MapData, ServiceState>,
    pub conns: HashMap<MapData, FlowKey, ConnEntry>,
    pub nat_replies: HashMap<MapData, FlowKey, NatReply>,
    pub persist: HashMap<MapData, PersistKey, PersistEntry>,
    pub service_stats: PerCpuArray<MapData, Counters>,
    pub real_stats: PerCpuArray<MapData, Counters>,
    pub global_stats: PerCpuArray<MapData, u64>,
    pub config: Array<MapData, LbConfig>,
    pub tx_ports: DevMapHash<MapData>,
}

/// Where the maps come from.
trait MapSource {
    fn take(&mut self, name: &str) -> Result<Map>;
}

impl MapSource for Ebpf {
    fn take(&mut self, name: &str) -> Result<Map> {
        self.take_map(name)
            .ok_or_else(|| LbError::Other(format!("the object has no map {name}")))
    }
}

struct PinDir<'a>(&'a Path);

impl MapSource for PinDir<'_> {
    fn take(&mut self, name: &str) -> Result<Map> {
        let path = self.0.join(name);
        let data = MapData::from_pin(&path)
            .map_err(|_| LbError::NotLoaded(self.0.display().to_string()))?;
        Ok(Map::from_map_data(data)?)
    }
}

fn typed<T>(source: &mut dyn MapSource, name: &str) -> Result<T>
where
    T: TryFrom<Map, Error = aya::maps::MapError>,
{
    Ok(T::try_from(source.take(name)?)?)
}

impl Maps {
    /// Takes the maps out of a loaded object (the object keeps working: the
    /// kernel holds its own references).
    pub fn from_ebpf(ebpf: &mut Ebpf) -> Result<Maps> {
        Maps::open(ebpf)
    }

    /// Opens the maps a running instance pinned in `dir`.
    pub fn from_pins(dir: &Path) -> Result<Maps> {
        Maps::open(&mut PinDir(dir))
    }

    fn open(src: &mut dyn MapSource) -> Result<Maps> {
        Ok(Maps {
            services: typed(src, names::SERVICES)?,
            vips: typed(src, names::VIPS)?,
            service_reals: typed(src, names::SERVICE_REALS)?,
            rings: typed(src, names::RINGS)?,
            reals: typed(src, names::REALS)?,
            real_conn_counts: typed(src, names::REAL_CONN_COUNTS)?,
            service_state: typed(src, names::SERVICE_STATE)?,
            conns: typed(src, names::CONNS)?,
            nat_replies: typed(src, names::NAT_REPLIES)?,
            persist: typed(src, names::PERSIST)?,
            service_stats: typed(src, names::SERVICE_STATS)?,
            real_stats: typed(src, names::REAL_STATS)?,
            global_stats: typed(src, names::GLOBAL_STATS)?,
            config: typed(src, names::LB_CONFIG)?,
            tx_ports: typed(src, names::TX_PORTS)?,
        })
    }

    pub fn lb_config(&self) -> Result<LbConfig> {
        Ok(self.config.get(&0, 0)?)
    }

    pub fn set_lb_config(&mut self, cfg: &LbConfig) -> Result<()> {
        Ok(self.config.set(0, cfg, 0)?)
    }
}
