-- Every (member, role) pair of the membership closure (what pg_has_role calls
-- MEMBER), with how the member can use it: by inheritance (its privileges apply
-- at once) or by SET ROLE. first_hop is the role granted to the member directly
-- on the way, the one to revoke.
-- pg_has_role(..., 'SET') exists from PostgreSQL 16; before it, membership
-- always allowed SET ROLE. CASE keeps the 'SET' argument from being parsed on 15.
WITH RECURSIVE reach(member, role, first_hop) AS (
    SELECT m.member, m.roleid, m.roleid
    FROM pg_auth_members m
  UNION
    SELECT reach.member, m.roleid, reach.first_hop
    FROM reach
    JOIN pg_auth_members m ON m.member = reach.role
), closure AS (
    SELECT reach.member,
           reach.role,
           min(reach.first_hop) AS first_hop,
           pg_has_role(reach.member, reach.role, 'USAGE') AS inherited,
           CASE WHEN current_setting('server_version_num')::int >= 160000
                THEN pg_has_role(reach.member, reach.role, 'SET')
                ELSE true
           END AS settable
    FROM reach
    GROUP BY reach.member, reach.role
)
SELECT closure.member AS member_oid,
       closure.role AS role_oid,
       closure.first_hop AS first_hop_oid,
       closure.inherited,
       closure.settable
FROM closure
