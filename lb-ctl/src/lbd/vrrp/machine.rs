//! The VRRPv3 state machine (RFC 5798 §6.4), pure: time comes in as an
//! argument and the effects go out as `Action`s, so the timers and the
//! transitions are unit-tested without a clock or a network.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

pub const PRIORITY_OWNER: u8 = 255;
pub const PRIORITY_RESIGN: u8 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Init,
    Backup,
    Master,
    /// The interface is down (keepalived's FAULT): no VIPs, no adverts.
    Fault,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send an advertisement with this priority.
    Send(u8),
    /// The machine entered this state (take or drop the VIPs, notify).
    Enter(State),
}

#[derive(Debug, Clone)]
pub struct Params {
    pub priority: u8,
    /// Our Advertisement_Interval, centiseconds.
    pub advert_centis: u16,
    pub preempt: bool,
    /// Preemption waits this long after start (keepalived's preempt_delay).
    pub preempt_delay: Duration,
    /// Our primary address: breaks ties between equal priorities.
    pub local_ip: Ipv4Addr,
}

#[derive(Debug, Clone)]
pub struct Machine {
    params: Params,
    state: State,
    started: Instant,
    /// The master's interval as learned from its adverts, centiseconds.
    master_advert_centis: u16,
    master_down_at: Option<Instant>,
    advert_at: Option<Instant>,
}

fn centis(c: u32) -> Duration {
    Duration::from_millis(c as u64 * 10)
}

impl Machine {
    pub fn new(params: Params, now: Instant) -> Machine {
        let master_advert_centis = params.advert_centis;
        Machine {
            params,
            state: State::Init,
            started: now,
            master_advert_centis,
            master_down_at: None,
            advert_at: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn priority(&self) -> u8 {
        self.params.priority
    }

    /// Skew_Time = ((256 − Priority) × Master_Adver_Interval) / 256.
    pub fn skew(&self) -> Duration {
        let micros =
            (256 - self.params.priority as u64) * self.master_advert_centis as u64 * 10_000 / 256;
        Duration::from_micros(micros)
    }

    /// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time.
    pub fn master_down_interval(&self) -> Duration {
        centis(3 * self.master_advert_centis as u32) + self.skew()
    }

    /// When `on_timer` next has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Init | State::Fault => None,
            State::Backup => self.master_down_at,
            State::Master => self.advert_at,
        }
    }

    /// The Startup event (§6.4.1).
    pub fn start(&mut self, now: Instant) -> Vec<Action> {
        self.started = now;
        if self.params.priority == PRIORITY_OWNER {
            self.become_master(now)
        } else {
            self.become_backup(now, self.params.advert_centis)
        }
    }

    /// The Shutdown event: a master resigns with priority 0 so a backup
    /// takes over after Skew_Time instead of Master_Down_Interval.
    pub fn shutdown(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.state == State::Master {
            actions.push(Action::Send(PRIORITY_RESIGN));
        }
        if self.state != State::Init {
            self.state = State::Init;
            self.master_down_at = None;
            self.advert_at = None;
            actions.push(Action::Enter(State::Init));
        }
        actions
    }

    /// The interface went down: stop everything until it is back (then
    /// `start` again). Nothing is sent: the link cannot carry it.
    pub fn fault(&mut self) -> Vec<Action> {
        if self.state == State::Fault {
            return Vec::new();
        }
        self.state = State::Fault;
        self.master_down_at = None;
        self.advert_at = None;
        vec![Action::Enter(State::Fault)]
    }

    /// Fires the timers that are due.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        match self.state {
            State::Backup if self.master_down_at.is_some_and(|t| t <= now) => {
                self.become_master(now)
            }
            State::Master if self.advert_at.is_some_and(|t| t <= now) => {
                self.advert_at = Some(now + centis(self.params.advert_centis as u32));
                vec![Action::Send(self.params.priority)]
            }
            _ => Vec::new(),
        }
    }

    /// An advertisement for our VRID (already validated) arrived.
    pub fn on_advert(
        &mut self,
        now: Instant,
        src: Ipv4Addr,
        priority: u8,
        max_advert_centis: u16,
    ) -> Vec<Action> {
        match self.state {
            State::Init | State::Fault => Vec::new(),
            State::Backup => {
                if priority == PRIORITY_RESIGN {
                    self.master_down_at = Some(now + self.skew());
                } else if !self.preempts(now) || priority >= self.params.priority {
                    self.master_advert_centis = max_advert_centis.max(1);
                    self.master_down_at = Some(now + self.master_down_interval());
                }
                // Else a lower priority master: ignore it, and our down
                // timer will make us preempt it.
                Vec::new()
            }
            State::Master => {
                if priority == PRIORITY_RESIGN {
                    self.advert_at = Some(now + centis(self.params.advert_centis as u32));
                    vec![Action::Send(self.params.priority)]
                } else if priority > self.params.priority
                    || (priority == self.params.priority && src > self.params.local_ip)
                {
                    // Yield at once to a better master.
                    self.become_backup(now, max_advert_centis.max(1))
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn preempts(&self, now: Instant) -> bool {
        self.params.preempt && now >= self.started + self.params.preempt_delay
    }

    fn become_master(&mut self, now: Instant) -> Vec<Action> {
        self.state = State::Master;
        self.master_down_at = None;
        self.advert_at = Some(now + centis(self.params.advert_centis as u32));
        vec![
            Action::Send(self.params.priority),
            Action::Enter(State::Master),
        ]
    }

    fn become_backup(&mut self, now: Instant, master_advert_centis: u16) -> Vec<Action> {
        self.state = State::Backup;
        self.master_advert_centis = master_advert_centis;
        self.advert_at = None;
        self.master_down_at = Some(now + self.master_down_interval());
        vec![Action::Enter(State::Backup)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 11);
    const LOWER_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 5);
    const HIGHER_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 12);

    fn machine(priority: u8, preempt: bool) -> (Machine, Instant) {
        let now = Instant::now();
        let params = Params {
            priority,
            advert_centis: 100,
            preempt,
            preempt_delay: Duration::ZERO,
            local_ip: ME,
        };
        (Machine::new(params, now), now)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn timers_follow_rfc_5798() {
        let (m, _) = machine(100, true);
        // (256 - 100) * 1 s / 256 = 609.375 ms.
        assert_eq!(m.skew(), Duration::from_micros(609_375));
        assert_eq!(m.master_down_interval(), Duration::from_micros(3_609_375));
        let (m, _) = machine(254, true);
        assert_eq!(m.skew(), Duration::from_micros(7_812));
    }

    #[test]
    fn a_backup_becomes_master_after_master_down_interval_of_silence() {
        let (mut m, t0) = machine(100, true);
        assert_eq!(m.start(t0), vec![Action::Enter(State::Backup)]);
        assert_eq!(m.next_deadline(), Some(t0 + m.master_down_interval()));
        assert!(m.on_timer(t0 + ms(3600)).is_empty(), "not yet");
        assert_eq!(
            m.on_timer(t0 + ms(3610)),
            vec![Action::Send(100), Action::Enter(State::Master)]
        );
        // Then adverts every advert_int.
        assert_eq!(m.next_deadline(), Some(t0 + ms(4610)));
        assert_eq!(m.on_timer(t0 + ms(4610)), vec![Action::Send(100)]);
        assert_eq!(m.next_deadline(), Some(t0 + ms(5610)));
    }

    #[test]
    fn adverts_keep_a_backup_down_and_teach_it_the_masters_interval() {
        let (mut m, t0) = machine(100, true);
        m.start(t0);
        m.on_advert(t0 + ms(3000), HIGHER_IP, 150, 10);
        // The master advertises every 0.1 s: down interval 300 ms + skew 60.9 ms.
        assert_eq!(m.master_down_interval(), Duration::from_micros(360_937));
        assert!(m.on_timer(t0 + ms(3360)).is_empty());
        assert_eq!(m.on_timer(t0 + ms(3361))[1], Action::Enter(State::Master));
    }

    #[test]
    fn priority_owner_is_master_at_once() {
        let (mut m, t0) = machine(PRIORITY_OWNER, true);
        assert_eq!(
            m.start(t0),
            vec![Action::Send(255), Action::Enter(State::Master)]
        );
    }

    #[test]
    fn a_resigning_master_lets_the_backup_take_over_after_skew() {
        let (mut m, t0) = machine(100, true);
        m.start(t0);
        m.on_advert(t0 + ms(500), HIGHER_IP, PRIORITY_RESIGN, 100);
        assert_eq!(m.next_deadline(), Some(t0 + ms(500) + m.skew()));
        let (mut master, t0) = machine(200, true);
        master.start(t0);
        master.on_timer(t0 + ms(4000));
        assert_eq!(master.state(), State::Master);
        assert_eq!(
            master.shutdown(),
            vec![Action::Send(0), Action::Enter(State::Init)]
        );
    }

    #[test]
    fn preempt_takes_over_from_a_lower_master_and_nopreempt_does_not() {
        let (mut m, t0) = machine(200, true);
        m.start(t0);
        for i in 1..=10 {
            m.on_advert(t0 + ms(i * 1000), LOWER_IP, 100, 100);
        }
        // Lower adverts do not reset the timer: we took over long ago.
        let acts = m.on_timer(t0 + ms(10_000));
        assert_eq!(acts, vec![Action::Send(200), Action::Enter(State::Master)]);

        let (mut m, t0) = machine(200, false);
        m.start(t0);
        for i in 1..=10 {
            m.on_advert(t0 + ms(i * 1000), LOWER_IP, 100, 100);
            assert!(m.on_timer(t0 + ms(i * 1000)).is_empty());
        }
        assert_eq!(m.state(), State::Backup);
    }

    #[test]
    fn preempt_delay_holds_preemption_after_start() {
        let t0 = Instant::now();
        let mut m = Machine::new(
            Params {
                priority: 200,
                advert_centis: 100,
                preempt: true,
                preempt_delay: Duration::from_secs(5),
                local_ip: ME,
            },
            t0,
        );
        m.start(t0);
        // Inside the delay, a lower master's adverts hold us back...
        for i in 1..=4 {
            m.on_advert(t0 + ms(i * 1000), LOWER_IP, 100, 100);
        }
        // ...so the down timer runs from t=4 s: 4 s + 3.21875 s.
        m.on_advert(t0 + ms(6000), LOWER_IP, 100, 100);
        assert!(m.on_timer(t0 + ms(7200)).is_empty());
        assert_eq!(m.on_timer(t0 + ms(7219))[1], Action::Enter(State::Master));
    }

    #[test]
    fn a_master_yields_at_once_to_higher_priority_or_equal_priority_higher_ip() {
        let (mut m, t0) = machine(100, true);
        m.start(t0);
        m.on_timer(t0 + ms(4000));
        assert!(m.on_advert(t0 + ms(4100), LOWER_IP, 100, 100).is_empty());
        assert!(m.on_advert(t0 + ms(4100), HIGHER_IP, 99, 100).is_empty());
        assert_eq!(m.state(), State::Master);
        assert_eq!(
            m.on_advert(t0 + ms(4200), HIGHER_IP, 100, 100),
            vec![Action::Enter(State::Backup)]
        );
        let (mut m, t0) = machine(100, true);
        m.start(t0);
        m.on_timer(t0 + ms(4000));
        assert_eq!(
            m.on_advert(t0 + ms(4100), LOWER_IP, 101, 100),
            vec![Action::Enter(State::Backup)]
        );
        assert_eq!(
            m.next_deadline(),
            Some(t0 + ms(4100) + m.master_down_interval())
        );
    }

    #[test]
    fn a_fault_silences_the_instance_until_it_starts_again() {
        let (mut m, t0) = machine(100, true);
        m.start(t0);
        m.on_timer(t0 + ms(4000));
        assert_eq!(m.fault(), vec![Action::Enter(State::Fault)]);
        assert!(m.fault().is_empty());
        assert_eq!(m.next_deadline(), None);
        assert!(m.on_advert(t0 + ms(4100), HIGHER_IP, 200, 100).is_empty());
        assert!(m.on_timer(t0 + ms(9000)).is_empty());
        assert_eq!(m.start(t0 + ms(9000)), vec![Action::Enter(State::Backup)]);
    }

    #[test]
    fn a_master_answers_a_resignation_with_an_advert() {
        let (mut m, t0) = machine(100, true);
        m.start(t0);
        m.on_timer(t0 + ms(4000));
        assert_eq!(
            m.on_advert(t0 + ms(4100), HIGHER_IP, 0, 100),
            vec![Action::Send(100)]
        );
        assert_eq!(m.state(), State::Master);
    }
}
