"""Streaming reader of XES event logs (IEEE 1849), shared by the converters in tools/.

Python 3 standard library only (gzip + xml.etree.iterparse): a trace at a time, so logs of
hundreds of thousands of cases stay within a few megabytes of memory.
"""

import gzip
import xml.etree.ElementTree as ET


def local(tag):
    """An element's tag without its XML namespace."""
    return tag.rsplit("}", 1)[-1]


def read_traces(path):
    """Yields (case attributes, [event attribute dicts]) per trace, streaming; a path ending in .gz
    is read through gzip. The first value of a repeated key wins."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        in_trace = False
        attrs, events, event = {}, [], None
        for action, elem in ET.iterparse(f, events=("start", "end")):
            tag = local(elem.tag)
            if action == "start":
                if tag == "trace":
                    in_trace, attrs, events = True, {}, []
                elif tag == "event" and in_trace:
                    event = {}
                continue
            if tag == "trace":
                yield attrs, events
                in_trace = False
                elem.clear()
            elif tag == "event" and in_trace:
                events.append(event)
                event = None
                elem.clear()
            elif in_trace and "key" in elem.attrib:
                target = event if event is not None else attrs
                target.setdefault(elem.attrib["key"], elem.attrib.get("value"))
