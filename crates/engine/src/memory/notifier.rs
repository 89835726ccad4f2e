//! Messages collected in memory.

use super::*;

/// Collects every published message.
#[derive(Default)]
pub struct MemoryNotifier {
    pub sent: Mutex<Vec<Envelope>>,
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn publish(&self, envelope: &Envelope) -> Result<(), NotifyError> {
        self.sent
            .lock()
            .map_err(|_| NotifyError("lock poisoned".into()))?
            .push(envelope.clone());
        Ok(())
    }
}
