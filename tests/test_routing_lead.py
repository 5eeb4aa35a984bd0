"""``RoutingLead``: the front may hold audio up to ``limit`` samples past the oldest item not yet routed."""

from voxwatch.pipeline.routing_lead import RoutingLead


def test_the_front_waits_only_while_an_item_lies_too_far_behind():
    lead = RoutingLead(limit=100)
    assert lead.room(10_000)  # nothing emitted: nothing to keep
    lead.note(50)
    lead.note(80)
    assert lead.room(150) and not lead.room(151)  # the oldest item (ends at 50) bounds it
    lead.routed += 1
    assert lead.room(180) and not lead.room(181)  # now the one ending at 80
    lead.routed += 1
    assert lead.room(10_000)  # all routed: silence may run on
