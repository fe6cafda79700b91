"""The points committee (积分评议小组): proposals, review sessions with attendance and votes,
公示 and objections, minutes, and the evidence photos proposals carry."""
