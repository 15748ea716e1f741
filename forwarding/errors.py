class ForwardingError(Exception):
    """A refused forwarding change; the message is meant for the staff member who asked."""
