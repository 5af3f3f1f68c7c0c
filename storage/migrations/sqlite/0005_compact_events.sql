-- Events stored as arrays of their own fields (storage/codec.py EVENT_FORMAT) instead of their
-- full jsonl objects.
--
-- The jsonl object repeats what its group's columns hold (source … period) and a key built from
-- them, so it was about four times the bytes of the event's own fields: in a replay of the live
-- per-country file the events were four fifths of the database (bench/replay.py: 294 of 367 MB),
-- and writing them was the longest part of each commit. The key is rebuilt from the fields when
-- an event is read. Rows written here keep all twelve fields; the store leaves out trailing
-- nulls, and reads both.
UPDATE event_groups SET events = (
    SELECT json_group_array(json_array(
        json_extract(e.value, '$.type'),
        json_extract(e.value, '$.title_id'),
        json_extract(e.value, '$.title'),
        json_extract(e.value, '$.season'),
        json_extract(e.value, '$.rank'),
        json_extract(e.value, '$.previous_rank'),
        json_extract(e.value, '$.value'),
        json_extract(e.value, '$.unit'),
        json_extract(e.value, '$.total_regions'),
        json_extract(e.value, '$.record'),
        iif(
            json_type(e.value, '$.previous') = 'object',
            json_array(
                json_extract(e.value, '$.previous.title'),
                json_extract(e.value, '$.previous.season'),
                json_extract(e.value, '$.previous.value'),
                json_extract(e.value, '$.previous.period')
            ),
            NULL
        ),
        coalesce(json_extract(e.value, '$.qualifier'), '')
    ))
    FROM json_each(event_groups.events) AS e
);
